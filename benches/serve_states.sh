# Sourced by benches/floor.sh and benches/instructions.sh: the two states `serve` is measured on.
# serve_states ROOT DIR: DIR/json, the JSON generation (two anthropic API keys, as the fixture's two
# profiles); DIR/sqlite, a copy of the SQLite state OpenClaw 2026.9.6 wrote (tests/fixtures).
serve_states() {
    mkdir -p "$2/json/agents/main/agent" && chmod 700 "$2/json"
    cat > "$2/json/agents/main/agent/auth-profiles.json" << 'JSON'
{"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADWORK"},"anthropic:home":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADHOME"}}}
JSON
    echo '{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}' > "$2/json/openclaw.json"
    cp -r "$1/tests/fixtures/openclaw-2026.9.6" "$2/sqlite" && chmod 700 "$2/sqlite"
}
