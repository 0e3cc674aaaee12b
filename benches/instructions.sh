#!/bin/sh
# Instructions per `resolve` request (issue 32), counted by callgrind: repeatable on a shared machine,
# where seconds are not. Runs `serve` on a JSON-generation state and on a copy of the SQLite state
# OpenClaw 2026.9.6 wrote (tests/fixtures), and benches/floor_server.rs, each under valgrind; warms
# it up with wrk (1 connection), zeroes the counters, runs wrk for SECS seconds, and divides the
# process's instructions by the requests answered in that window. The floor.sh figures say what the
# instructions cost in CPU time.
#
#   sh benches/instructions.sh        # SECS=2
set -eu
for tool in wrk valgrind callgrind_control; do
    command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install wrk valgrind)" >&2; exit 2; }
done
SECS=${SECS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release -q && cargo build --release -q --example floor_server)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2> /dev/null || true; rm -rf "$tmp"' EXIT
. "$root/benches/serve_states.sh"
serve_states "$root" "$tmp"
count() { # NAME TOKEN_FILE COMMAND... -> prints "NAME instructions/request"
    name=$1; token_file=$2; shift 2
    out=$tmp/$name.cg
    valgrind --tool=callgrind --dump-instr=no --callgrind-out-file="$out.%p" "$@" > "$tmp/$name.out" 2> /dev/null &
    pid=$!
    for _ in $(seq 300); do grep -q "listening on tcp" "$tmp/$name.out" 2> /dev/null && break; sleep 0.1; done
    addr=$(sed -n 's/^listening on tcp://p' "$tmp/$name.out" | head -1)
    token=$(cat "$token_file" 2> /dev/null || echo none)
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '{\"session\":\"agent:main:load\",\"provider\":\"anthropic\"}'"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
    } > "$tmp/$name.lua"
    wrk -t1 -c1 -d1s -s "$tmp/$name.lua" "http://$addr/v1/agents/main/resolve" > /dev/null
    sleep 1
    callgrind_control -z "$pid" > /dev/null 2>&1
    reqs=$(wrk -t1 -c1 -d"${SECS}s" -s "$tmp/$name.lua" "http://$addr/v1/agents/main/resolve" | awk '/requests in/ {print $1}')
    callgrind_control -d "$pid" > /dev/null 2>&1
    kill -TERM "$pid"; wait "$pid" 2> /dev/null || true
    total=$(callgrind_annotate "$(ls "$out".*.1)" 2> /dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "$name $((total / reqs))"
}
bin=$root/target/release/modelauth
# The floor answers a document as long as serve's answer to this request (483 bytes).
export FLOOR_BYTES=483
floor=$(count floor /dev/null "$root/target/release/examples/floor_server")
json=$(count json "$tmp/json/modelauth.token" "$bin" --state-dir "$tmp/json" serve --listen tcp:127.0.0.1:0)
sqlite=$(count sqlite "$tmp/sqlite/modelauth.token" "$bin" --state-dir "$tmp/sqlite" serve --listen tcp:127.0.0.1:0)
echo "instructions per resolve request (callgrind, ${SECS}s of wrk on 1 connection after a warm-up):"
printf '%s\n%s\n%s\n' "$floor" "$json" "$sqlite" | awk '
    NR == 1 { f = $2 }
    { printf "  %-7s %7d (x%.2f)\n", $1, $2, $2 / f }'
