#!/bin/sh
# `modelauth serve` against the HTTP floor (issue 32), in one run, interleaved: `resolve` on a JSON-
# generation state, on a copy of the SQLite state OpenClaw 2026.9.6 wrote (tests/fixtures), and the
# same requests to benches/floor_server.rs (bare hyper, serve's runtime settings, reads the body and
# answers a fixed JSON document as long as serve's answer). For each: server CPU time per request
# (from /proc/<pid>/stat), p50/p99 and throughput, closed loop on 1 connection; then paced (6
# connections, 1 ms between a connection's answer and its next request: about 5,000/s). The ratios
# to the floor are the figures to hold (latency on a shared host swings with wake-up costs; CPU per
# request much less).
#
#   sh benches/floor.sh             # SECS=5 per line, ROUNDS=3 interleaved rounds
set -eu
command -v wrk > /dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release -q && cargo build --release -q --example floor_server)
bin=$root/target/release/modelauth
floor=$root/target/release/examples/floor_server
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill "$p" 2> /dev/null || true; done; rm -rf "$tmp"' EXIT
. "$root/benches/serve_states.sh"
serve_states "$root" "$tmp"
start() { # NAME COMMAND...: starts a server, records its pid and address
    name=$1; shift
    "$@" > "$tmp/$name.out" 2> /dev/null &
    eval "pid_$name=$!"; pids="$pids $!"
    for _ in $(seq 200); do grep -q "listening on tcp" "$tmp/$name.out" 2> /dev/null && break; sleep 0.05; done
    eval "addr_$name=$(sed -n 's/^listening on tcp://p' "$tmp/$name.out" | head -1)"
}
start json "$bin" --state-dir "$tmp/json" serve --listen tcp:127.0.0.1:0
start sqlite "$bin" --state-dir "$tmp/sqlite" serve --listen tcp:127.0.0.1:0
body='{"session":"agent:main:load","provider":"anthropic"}'
token_json=$(cat "$tmp/json/modelauth.token")
token_sqlite=$(cat "$tmp/sqlite/modelauth.token")
size=$(curl -s -X POST -H "Authorization: Bearer $token_json" -H 'Content-Type: application/json' \
    -d "$body" "http://$addr_json/v1/agents/main/resolve" | wc -c)
FLOOR_BYTES=$size start floor "$floor"
script() { # FILE TOKEN [paced]
    {
        echo 'wrk.method = "POST"'
        echo "wrk.body = '$body'"
        echo 'wrk.headers["Content-Type"] = "application/json"'
        echo "wrk.headers[\"Authorization\"] = \"Bearer $2\""
        if [ "${3:-}" = paced ]; then echo 'function delay() return 1 end'; fi
    } > "$1"
}
for n in json sqlite floor; do
    tok=$(eval "echo \${token_$n:-none}")
    script "$tmp/$n.lua" "$tok"
    script "$tmp/$n-paced.lua" "$tok" paced
    eval "wrk -t1 -c1 -d1s -s $tmp/$n.lua http://\$addr_$n/v1/agents/main/resolve" > /dev/null
done
hz=$(getconf CLK_TCK)
measure() { # NAME MODE(closed|paced) -> appends "name mode us_per_req p50_us p99_us rps" to results
    n=$1; mode=$2
    pid=$(eval "echo \$pid_$n"); addr=$(eval "echo \$addr_$n")
    if [ "$mode" = closed ]; then conns=1; lua=$tmp/$n.lua; else conns=6; lua=$tmp/$n-paced.lua; fi
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    out=$(wrk -t1 -c"$conns" -d"${SECS}s" --latency -s "$lua" "http://$addr/v1/agents/main/resolve")
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    echo "$out" | awk -v n="$n" -v mode="$mode" -v ticks=$((after - before)) -v hz="$hz" '
        function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
        /requests in/ {reqs = $1} / 50%/ {p50 = us($2)} / 99%/ {p99 = us($2)} /Requests\/sec/ {rps = $2}
        END {printf "%s %s %.2f %.1f %.1f %.0f\n", n, mode, ticks / hz * 1e6 / reqs, p50, p99, rps}' >> "$tmp/results"
}
for round in $(seq "$ROUNDS"); do
    for mode in closed paced; do
        for n in floor json sqlite; do measure "$n" "$mode"; done
    done
done
echo "serve resolve vs the floor: ${ROUNDS} interleaved rounds of ${SECS}s per line, medians over rounds"
awk '
    { key = $1 " " $2; c[key]++; cpu[key, c[key]] = $3; p50[key, c[key]] = $4; p99[key, c[key]] = $5; rps[key, c[key]] = $6 }
    function med(arr, key, n,   i, j, t, v) {
        for (i = 1; i <= n; i++) v[i] = arr[key, i]
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return v[int((n + 1) / 2)]
    }
    END {
        split("closed paced", modes, " ")
        for (m = 1; m <= 2; m++) {
            mode = modes[m]; f = "floor " mode
            fc = med(cpu, f, c[f]); fp = med(p50, f, c[f]); fr = med(rps, f, c[f])
            printf "%s:\n", (mode == "closed" ? "closed loop, 1 connection" : "paced, 6 connections (~5,000/s)")
            split("floor json sqlite", names, " ")
            for (k = 1; k <= 3; k++) {
                key = names[k] " " mode
                cc = med(cpu, key, c[key]); pp = med(p50, key, c[key]); p9 = med(p99, key, c[key]); rr = med(rps, key, c[key])
                printf "  %-7s CPU %6.2f us/req (x%.2f)  p50 %7.1f us (x%.2f)  p99 %8.1f us  %7.0f req/s (x%.2f)\n",
                    names[k], cc, cc / fc, pp, pp / fp, p9, rr, rr / fr
            }
        }
    }' "$tmp/results"
