# Shared by scripts/start.sh and scripts/test.sh: install what is missing, idempotently.
# Heavy builds (Temporal CLI, Kubernetes binaries) are cached in $CACHE_DIR, outside the
# repository, and built by the TypeScript code that needs them.

export CACHE_DIR="${CACHE_DIR:-$HOME/.cache/fullstackagent}"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_updated=0
# ensure_apt CMD PACKAGE: installs PACKAGE with apt-get when CMD is missing.
ensure_apt() {
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (apt)"
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null
}

# ensure_apt_path PATH PACKAGE: installs PACKAGE when PATH (a file) is missing.
ensure_apt_path() {
  [ -e "$1" ] && return 0
  log "installing $2 (apt)"
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null
}

# What the local cluster's real node and its image builds need (cluster/node.ts, cluster/images.ts).
ensure_real_node_packages() {
  ensure_apt containerd containerd
  ensure_apt runc runc
  ensure_apt iptables iptables
  ensure_apt openssl openssl
  ensure_apt buildah buildah
  ensure_apt mmdebstrap mmdebstrap
  ensure_apt gcc gcc
  ensure_apt_path /usr/lib/cni/bridge containernetworking-plugins
  ensure_apt_path /usr/lib/x86_64-linux-gnu/libc.a libc6-dev
}

ensure_node_modules() {
  command -v node >/dev/null || { echo "Node.js 20+ is required" >&2; exit 1; }
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    # npm ci refuses a lock file that lacks optional platform packages the registry does
    # not serve (e.g. other OSes' @swc/core builds); npm install then uses the same lock.
    npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
  fi
}

# Prisma's CLI would download a schema engine it does not need for `generate` (the
# client is WASM + node-postgres); pointing the variable at any file skips the download.
ensure_prisma_client() {
  if [ ! -f prisma/generated/client.ts ] || [ prisma/schema.prisma -nt prisma/generated/client.ts ]; then
    log "generating the Prisma client"
    PRISMA_SCHEMA_ENGINE_BINARY="$(type -P true)" npx --no-install prisma generate >/dev/null
  fi
}

ensure_go() {
  command -v go >/dev/null || { echo "Go 1.25+ is required to build the Temporal CLI and the local cluster (once)" >&2; exit 1; }
}
