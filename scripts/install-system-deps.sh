#!/usr/bin/env bash
# Installs the Debian packages the tests start for real (Prometheus, promtool, Alertmanager, PostgreSQL 15,
# MariaDB, Chromium, exporters, kubectl) when they are missing.  Safe to re-run: it does nothing when all are there.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have prometheus            || need+=(prometheus)
have promtool              || need+=(prometheus)
have prometheus-alertmanager || have alertmanager || need+=(prometheus-alertmanager)
have /usr/lib/postgresql/15/bin/initdb || need+=(postgresql-15 postgresql-contrib)
have mariadbd              || need+=(mariadb-server mariadb-client)
have chromium              || need+=(chromium)
have prometheus-node-exporter || need+=(prometheus-node-exporter)
have prometheus-postgres-exporter || need+=(prometheus-postgres-exporter)
have kubectl               || need+=(kubectl)
have git                   || need+=(git)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
# de-duplicate
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
echo "installing system packages: ${need[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# Package post-install scripts must not start services on this machine; the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq || true
if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"; then
  # kubectl comes from Debian's kubernetes-client where no other repository provides it
  fallback=("${need[@]/kubectl/kubernetes-client}")
  $SUDO apt-get install -y -qq --no-install-recommends "${fallback[@]}"
fi
