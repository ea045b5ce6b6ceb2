#!/usr/bin/env bash
# Installs the Debian tools the tests drive for real: pgbench (the switch is
# proven under its load) and PgBouncer (a fleet driver). As root it runs
# apt-get; otherwise it says what to install. Tests that need a tool and do
# not find it fail loudly, naming this script.
set -euo pipefail
have_pgbench() { command -v pgbench >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; }
need=()
have_pgbench || need+=(postgresql-client-15)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
# On some Debian releases pgbench ships with the server package.
have_pgbench || apt-get install -y -qq postgresql-15 >/dev/null
echo "installed: ${need[*]}"
