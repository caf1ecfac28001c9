#!/usr/bin/env bash
# Installs Node-RED 4 plus a Node 20 binary into .hosts/node-red-4/, so the
# tests can also run our nodes in the previous Node-RED major on the Node
# version its users run (Node-RED 5, the project's devDependency, needs Node >= 22.9).
#
# Node 20 comes from the npm package `node` (pinned), not from the machine, so
# CI and developers get the same binary. Idempotent (stamp file); FORCE=1 reinstalls.
set -euo pipefail

NODE_RED_VERSION="${NODE_RED_4_VERSION:-4.1.8}"
NODE_VERSION="${NODE_RED_4_NODE_VERSION:-20.20.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$ROOT/.hosts/node-red-4"
STAMP="$DIR/.installed-$NODE_RED_VERSION-node-$NODE_VERSION"

# npm itself runs on the project's Node 24 (any modern npm would do).
export PATH="$ROOT/node_modules/.bin:$PATH"

if [[ -f "$STAMP" && -x "$DIR/node_modules/node/bin/node" && "${FORCE:-0}" != 1 ]]; then
  echo "install-node-red-4: node-red@$NODE_RED_VERSION with node@$NODE_VERSION already installed in $DIR"
  exit 0
fi

mkdir -p "$DIR"
rm -f "$DIR"/.installed-*
cat > "$DIR/package.json" <<JSON
{
  "name": "wechat-ilink-node-red-4-test-host",
  "private": true,
  "description": "Node-RED 4 on Node 20 for test/harness/node-red.ts. Installed by scripts/hosts/install-node-red-4.sh.",
  "dependencies": { "node-red": "$NODE_RED_VERSION", "node": "$NODE_VERSION" },
  "allowScripts": { "node": true }
}
JSON

echo "install-node-red-4: installing node-red@$NODE_RED_VERSION and node@$NODE_VERSION into $DIR ..."
start=$(date +%s)
LOG="$DIR/install.log"
# Scripts denied, then only the `node` package's setup (it fetches the
# platform binary package from the npm registry).
if ! (cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >"$LOG" 2>&1 \
      && npm rebuild node --loglevel=error >>"$LOG" 2>&1); then
  echo "install-node-red-4: FAILED, last lines of $LOG:" >&2
  tail -n 40 "$LOG" >&2
  exit 1
fi

got="$("$DIR/node_modules/node/bin/node" -v 2>&1 || true)"
if [[ "$got" != "v$NODE_VERSION" ]]; then
  echo "install-node-red-4: FAILED, $DIR/node_modules/node/bin/node -v printed '$got', expected v$NODE_VERSION" >&2
  exit 1
fi

echo "install-node-red-4: installed in $(( $(date +%s) - start )) s, $(du -sh "$DIR" | cut -f1)"
touch "$STAMP"
