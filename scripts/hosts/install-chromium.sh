#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/harness/chromium.ts).
# playwright-core's own browser download cannot reach its CDN here, so the
# harness launches /usr/bin/chromium instead. A CJK font comes with it, so the
# Chinese labels of our pages render in screenshots. Idempotent; needs root (or sudo).
set -euo pipefail

if [[ -x /usr/bin/chromium && -d /usr/share/fonts/opentype/noto ]]; then
  echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo -n"; else
    echo "install-chromium: need root to apt-get install chromium" >&2; exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
LOG="$(mktemp)"
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk; } >"$LOG" 2>&1; then
  echo "install-chromium: FAILED, last lines of the apt log:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
fi
rm -f "$LOG"
echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null) installed in $(( $(date +%s) - start )) s"
