#!/usr/bin/env bash
# Installs a pinned n8n into .hosts/n8n/ so jest tests can start the real host.
#
# Why a separate folder: n8n is ~3 GB with hundreds of transitive packages;
# it must never become a dependency of the published node package.
# Why the allowScripts block: a plain install runs native install scripts
# (Kafka, isolated-vm, ...) that download from the internet and fail offline.
# Only the sqlite3 binding (n8n's default database) and the `node` package
# (our Node 24) are allowed to run their scripts.
#
# Idempotent: a stamp file records the installed version; a second run exits
# in about a second. Set FORCE=1 to reinstall.
set -euo pipefail

N8N_VERSION="${N8N_VERSION:-2.41.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/.hosts/n8n"
STAMP="$DIR/.installed-$N8N_VERSION"

# n8n 2.x needs Node >= 24: use the project's `node` devDependency.
export PATH="$ROOT/node_modules/.bin:$PATH"
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)'; then
  echo "install-n8n: Node >= 24 required, found $(node -v). Run 'npm ci' in $ROOT first (the 'node' devDependency provides Node 24)." >&2
  exit 1
fi

if [[ -f "$STAMP" && -f "$DIR/node_modules/n8n/bin/n8n" && "${FORCE:-0}" != 1 ]]; then
  echo "install-n8n: n8n@$N8N_VERSION already installed in $DIR"
  exit 0
fi

mkdir -p "$DIR"
rm -f "$DIR"/.installed-*
# The package must not be named `n8n` (npm refuses to install a package into itself).
cat > "$DIR/package.json" <<JSON
{
  "name": "wechat-ilink-n8n-test-host",
  "private": true,
  "description": "Real n8n for the harness in test/harness/n8n.ts. Installed by scripts/hosts/install-n8n.sh.",
  "dependencies": { "n8n": "$N8N_VERSION" },
  "allowScripts": {
    "node": true,
    "sqlite3": true,
    "@confluentinc/kafka-javascript": false,
    "@parcel/watcher": false,
    "@scarf/scarf": false,
    "@sentry/node-cpu-profiler": false,
    "@sentry/node-native-stacktrace": false,
    "agent-browser": false,
    "cpu-features": false,
    "vue-demi": false,
    "isolated-vm": false,
    "msgpackr-extract": false,
    "oracledb": false,
    "protobufjs": false,
    "ssh2": false
  }
}
JSON

# sqlite3's prebuilt binary download cannot work offline, so `npm rebuild`
# compiles it (python3, make, g++). node-gyp would download Node headers too:
# point it at the machine's headers (N-API, so any Node version's headers do).
if [[ -z "$(npm config get nodedir 2>/dev/null | grep -v '^undefined$' || true)" && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi

echo "install-n8n: installing n8n@$N8N_VERSION into $DIR (takes several minutes, ~3 GB) ..."
start=$(date +%s)
LOG="$DIR/install.log"
# --ignore-scripts then an explicit rebuild of sqlite3: works whether or not this
# npm honours allowScripts, and never runs a script that downloads.
if ! (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >"$LOG" 2>&1 \
      && npm rebuild sqlite3 --loglevel=error >>"$LOG" 2>&1); then
  echo "install-n8n: FAILED, last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi

# Prove the sqlite3 binding loads, or n8n dies at start with a cryptic error.
if ! (cd "$DIR" && node -e 'require("sqlite3")') >>"$LOG" 2>&1; then
  echo "install-n8n: FAILED, the sqlite3 native binding does not load (see $LOG)" >&2
  tail -n 20 "$LOG" >&2
  exit 1
fi

end=$(date +%s)
size=$(du -sh "$DIR" | cut -f1)
echo "install-n8n: n8n@$N8N_VERSION installed in $((end - start)) s, $size"
touch "$STAMP"
