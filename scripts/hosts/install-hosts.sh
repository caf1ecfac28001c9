#!/usr/bin/env bash
# Installs every host the harness tests need (each step is idempotent and
# takes about a second when already done):
#   Chromium (apt, ~25 s fresh), Node-RED 4 + Node 20 (~30 s), n8n (~7 min, 3 GB).
# Node-RED 5 needs nothing here: it is a devDependency of the project.
# Usage: bash scripts/hosts/install-hosts.sh   (SKIP_N8N=1 to leave n8n out)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bash "$HERE/install-chromium.sh"
bash "$HERE/install-node-red-4.sh"
bash "$HERE/install-queue-mode.sh"
if [[ "${SKIP_N8N:-0}" != 1 ]]; then
  bash "$HERE/install-n8n.sh"
fi
