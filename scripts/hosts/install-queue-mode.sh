#!/usr/bin/env bash
# Installs what n8n queue mode needs for test/harness/n8n-queue.ts: Postgres
# (queue mode does not run on SQLite) and Redis (the job queue), from Debian's
# packages. The harness runs its own throwaway instances on free ports, so the
# system services must not run: a temporary policy-rc.d keeps apt from starting
# them, and on a systemd machine we also disable what we just installed.
# Idempotent: about a second when both are present. Needs root (or sudo).
set -euo pipefail

have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
have_redis() { command -v redis-server >/dev/null; }

if have_postgres && have_redis; then
  echo "install-queue-mode: $(redis-server --version | cut -d' ' -f1-3), Postgres $(ls /usr/lib/postgresql | sort -n | tail -1) already installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null; then SUDO="sudo -n"; else
    echo "install-queue-mode: need root to apt-get install postgresql and redis-server" >&2; exit 1
  fi
fi

packages=()
services=()
have_postgres || { packages+=(postgresql); services+=(postgresql); }
have_redis || { packages+=(redis-server); services+=(redis-server); }

# Debian's invoke-rc.d asks /usr/sbin/policy-rc.d before starting a service;
# exit code 101 means "not now". Only ours if none was there (containers ship one).
POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  own_policy=1
fi
LOG="$(mktemp)"
cleanup() {
  if [[ "$own_policy" == 1 ]]; then $SUDO rm -f "$POLICY"; fi
  rm -f "$LOG"
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
if ! { $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"; } >"$LOG" 2>&1; then
  echo "install-queue-mode: FAILED to install ${packages[*]}, last lines of the apt log:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
fi

# Belt and braces, should a package have started its service anyway: stop what
# we just installed (on systemd also keep it from starting at boot).
for service in "${services[@]}"; do
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
  elif [[ -x "/etc/init.d/$service" ]]; then
    $SUDO "/etc/init.d/$service" stop >/dev/null 2>&1 || true
  fi
done
echo "install-queue-mode: ${packages[*]} installed in $(( $(date +%s) - start )) s"
