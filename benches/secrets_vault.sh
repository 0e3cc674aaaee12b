#!/bin/sh
# Secrets off the disk (issue 31): what a keyring reference costs. Starts a private session bus with
# gnome-keyring-daemon, stores N API keys as plaintext profiles, then prints: the time of
# `secrets migrate --to keyring` for all N (store, read back, declare, resolve, one swap); the time of
# one `secrets exec-provider` run (what OpenClaw pays per resolution of a reference); and `resolve`
# with every profile behind a reference against the same state in plaintext (in-process keyring reads).
#
#   sh benches/secrets_vault.sh          # N=20 profiles, RUNS=30 timed runs each
set -eu
N=${N:-20}
RUNS=${RUNS:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
(cd "$root" && cargo build --release -q)
bin=$root/target/release/modelauth
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/inner.sh" << 'INNER'
set -eu
export HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
printf pw | gnome-keyring-daemon --unlock --components=secrets > /dev/null 2>&1
ms() { echo "$(( ($2 - $1) / 1000 ))"; }
now() { date +%s%N; }
for i in $(seq "$N"); do
    printf 'sk-ant-api03-BENCHxx%04d111122223333' "$i" | "$bin" --state-dir "$tmp/plain" models auth paste-api-key \
        --provider anthropic --profile-id "anthropic:p$i" > /dev/null
done
cp -r "$tmp/plain" "$tmp/vault"
t0=$(now); "$bin" --state-dir "$tmp/vault" secrets migrate --to keyring > /dev/null; t1=$(now)
echo "migrate $N profiles to the keyring: $(ms "$t0" "$t1") us"
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
timed() { # COMMAND... -> median microseconds of RUNS runs
    for _ in $(seq "$RUNS"); do t0=$(now); "$@" > /dev/null; t1=$(now); ms "$t0" "$t1"; done | median
}
req='{"protocolVersion":1,"provider":"modelauth","ids":["keyring/anthropic:p1"]}'
ep=$(for _ in $(seq "$RUNS"); do t0=$(now); echo "$req" | "$bin" secrets exec-provider > /dev/null; t1=$(now); ms "$t0" "$t1"; done | median)
echo "one exec-provider run (OpenClaw's cost per resolution): median $ep us"
plain=$(timed "$bin" --state-dir "$tmp/plain" resolve --provider anthropic)
vault=$(timed "$bin" --state-dir "$tmp/vault" resolve --provider anthropic)
echo "resolve, $N profiles: plaintext median $plain us, behind keyring references median $vault us"
st_plain=$(timed "$bin" --state-dir "$tmp/plain" models status)
st_vault=$(timed "$bin" --state-dir "$tmp/vault" models status)
echo "models status (resolves every reference), $N profiles: plaintext $st_plain us, keyring $st_vault us"
INNER
tmp=$tmp bin=$bin N=$N RUNS=$RUNS dbus-run-session -- sh "$tmp/inner.sh" 2>&1 | grep -v "fd limit"
