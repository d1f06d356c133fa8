#!/usr/bin/env bash
# Runs the whole test suite against real components: PostgreSQL (installed and started
# here when none runs), the Temporal dev server and the local Kubernetes control plane
# (started by the test tiers' setups, jest.config.js), Chromium for the browser tests.
# Extra arguments go to jest (e.g. a path pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/ensure.sh
source scripts/lib/ensure.sh

ensure_node_modules
ensure_prisma_client
ensure_go
ensure_apt chromium chromium
ensure_apt shellcheck shellcheck
ensure_apt docker-compose docker-compose
ensure_real_node_packages

# PostgreSQL: use TEST_DATABASE_URL if given, else the local server (installed if missing).
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  ensure_apt pg_ctlcluster postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
    if [ -z "$version" ]; then
      version=$(ls /usr/lib/postgresql | sort -V | tail -1)
      as_root pg_createcluster "$version" main >/dev/null
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export TEST_DATABASE_URL=postgresql://postgres:postgres@127.0.0.1:5432/postgres
fi

log "typecheck"
npx --no-install tsc --noEmit -p tsconfig.json
log "lint"
npx --no-install eslint --max-warnings=0 .
log "jest"
results="$(mktemp -d)/jest.json"
status=0
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile="$results" "$@" || status=$?
node -e '
  const r = require(process.argv[1]);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$results" 2>/dev/null || true
exit "$status"
