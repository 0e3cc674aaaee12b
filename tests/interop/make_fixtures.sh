#!/usr/bin/env bash
# Re-creates tests/fixtures/openclaw-2026.9.6: a state directory written by the real OpenClaw 2026.9.6
# with fake secrets (two shared setup tokens, an order for main, an agent `ops` with its own token and
# order, the default model anthropic/claude-opus-4-6, one session), checkpointed and vacuumed so the committed databases are small.
# Needs the install of tests/interop/install.sh. Usage: tests/interop/make_fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$("$here/tests/interop/install.sh" | tail -1)"
export PATH="$bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OPENCLAW_STATE_DIR="$work/state"
mkdir -p "$OPENCLAW_STATE_DIR"
fake() { printf 'sk-ant-oat01-FIXTURE%s%s\n' "$1" "$(printf '0%.0s' $(seq 1 60))"; }
fake WORK | openclaw models auth paste-token --provider anthropic --profile-id anthropic:work >/dev/null
fake HOME | openclaw models auth paste-token --provider anthropic --profile-id anthropic:home >/dev/null
openclaw models auth order set --provider anthropic anthropic:home anthropic:work >/dev/null 2>&1
openclaw config set agents.entries.ops.name ops >/dev/null
openclaw config set agents.defaults.model.primary anthropic/claude-opus-4-6 >/dev/null
fake OPS | openclaw models auth paste-token --agent ops --provider anthropic --profile-id anthropic:ops >/dev/null
openclaw models auth order set --agent ops --provider anthropic anthropic:ops anthropic:work >/dev/null 2>&1
# A session row: the run fails (no OpenAI credential for the default model) after creating it.
timeout 120 openclaw agent --local --session-key agent:main:fixture --message hello >/dev/null 2>&1 || true
out="$here/tests/fixtures/openclaw-2026.9.6"
rm -rf "$out"
for db in state/openclaw.sqlite agents/main/agent/openclaw-agent.sqlite agents/ops/agent/openclaw-agent.sqlite; do
  mkdir -p "$out/$(dirname "$db")"
  # node:sqlite of the Node 24 runtime: the schema needs a newer SQLite than Python's.
  node -e '
    const { DatabaseSync } = require("node:sqlite");
    const db = new DatabaseSync(process.argv[1]);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.prepare("VACUUM INTO ?").run(process.argv[2]);
  ' "$OPENCLAW_STATE_DIR/$db" "$out/$db"
  chmod 0600 "$out/$db"
done
cp "$OPENCLAW_STATE_DIR/openclaw.json" "$out/openclaw.json"
chmod 0600 "$out/openclaw.json"
du -sh "$out"
