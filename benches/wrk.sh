#!/bin/sh
# Load on `modelauth serve` measured with wrk (Debian's `wrk` package) over loopback TCP.
#
#   sh benches/wrk.sh            # release build, default settings (one thread answers connections)
#   THREADS=2 SECS=10 REPEAT=5 sh benches/wrk.sh
#
# For `resolve` and `messages` it prints wrk's latency percentiles twice:
#   - paced: 6 keep-alive connections, each sending its next request 1 ms after the last answer
#     (wrk's `delay()`), which is about 5,000 requests/s. wrk fires its timers on whole milliseconds,
#     so the requests arrive in bursts of about five: harsher than a steady 5,000/s.
#   - closed loop: 1 connection as fast as the server answers (the throughput it reaches is printed).
# The paced line is repeated REPEAT times (default 3): on a shared 2-core host its median moves by
# 10-20 us from run to run, with where the scheduler puts the server and wrk.
# The state is a temp copy of two API-key profiles (JSON generation).
set -eu
command -v wrk > /dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
SECS=${SECS:-5}
REPEAT=${REPEAT:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${MODELAUTH_BIN:-$root/target/release/modelauth}
[ -n "${MODELAUTH_BIN:-}" ] || (cd "$root" && cargo build --release -q)
tmp=$(mktemp -d)
trap 'kill -s TERM "$pid" 2> /dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/agents/main/agent"
chmod 700 "$tmp"
cat > "$tmp/agents/main/agent/auth-profiles.json" << 'JSON'
{"version":1,"profiles":{"anthropic:work":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADWORK"},"anthropic:home":{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-LOADHOME"}}}
JSON
echo '{"agents":{"defaults":{"model":{"primary":"anthropic/claude-opus-4-6"}}}}' > "$tmp/openclaw.json"
"$bin" --state-dir "$tmp" serve --listen tcp:127.0.0.1:0 ${THREADS:+--threads "$THREADS"} > "$tmp/out" 2> /dev/null &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/out" 2> /dev/null && break; sleep 0.05; done
addr=$(sed -n 's/^listening on tcp://p' "$tmp/out")
token=$(cat "$tmp/modelauth.token")
script() { # NAME BODY [paced]
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '$2'"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
        if [ "${3:-}" = paced ]; then echo 'function delay() return 1 end'; fi
    } > "$tmp/$1.lua"
}
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() { # NAME PATH CONNS LABEL
    before=$(cpu)
    out=$(wrk -t1 -c"$3" -d"${SECS}s" --latency -s "$tmp/$1.lua" "http://$addr$2")
    after=$(cpu)
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    echo "$out" | awk -v label="$4" -v n="$n" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
        / 50%/ {p50 = $2} / 90%/ {p90 = $2} / 99%/ {p99 = $2} /Requests\/sec/ {rps = $2}
        END {printf "%-32s p50 %8s  p90 %8s  p99 %8s  %9s req/s  server CPU %.1f us/req\n", label, p50, p90, p99, rps, ticks / hz * 1e6 / n}'
}
echo "modelauth serve (${THREADS:-default} threads), wrk over loopback TCP, ${SECS}s per line:"
for route in resolve messages; do
    case $route in
        resolve) body='{"session":"agent:main:load","provider":"anthropic"}' ;;
        messages) body='{"session":"agent:main:load","text":"hello, how are you today?"}' ;;
    esac
    script "$route" "$body"
    script "$route-paced" "$body" paced
    wrk -t1 -c1 -d1s -s "$tmp/$route.lua" "http://$addr/v1/agents/main/$route" > /dev/null # warm up
    for i in $(seq "$REPEAT"); do
        run "$route-paced" "/v1/agents/main/$route" 6 "$route, paced (~5,000/s) #$i"
    done
    run "$route" "/v1/agents/main/$route" 1 "$route, closed loop (1 conn)"
done
