#!/usr/bin/env bash
# Builds the local Kubernetes cluster (control plane, kubelet, kube-proxy, CoreDNS, Traefik, kwok) from the Go module proxy into a cache
# outside the repository: ${CACHE_DIR:-$HOME/.cache/fullstackagent}/k8s/<version>/bin.
# Idempotent: a binary that is already there is skipped. Cold build: 15-30 min, a few GB of RAM.
# Usage: cluster/build.sh            (all)
#        cluster/build.sh etcd kwok  (some)
set -euo pipefail

# v1.35.7 (named in INFRA-NOTES) answers 403 "not available" on proxy.golang.org; v1.35.8 is the next patch.
K8S_VERSION="${K8S_VERSION:-v1.35.8}"
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"   # v1.35.7 -> v0.35.7
ETCD_VERSION="${ETCD_VERSION:-v3.6.14}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
# v3.7 needs a nested module (dynamic/ext) that the module proxy does not serve; v3.6 does not.
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
CACHE_DIR="${CACHE_DIR:-$HOME/.cache/fullstackagent}"
BIN_DIR="$CACHE_DIR/k8s/$K8S_VERSION/bin"
WORK_DIR="$CACHE_DIR/k8s/$K8S_VERSION/src"
# The build machines have 2 cores; keep the build from starving everything else.
export GOFLAGS="${GOFLAGS:--p=2} -buildvcs=false"
export CGO_ENABLED=0

STAGING_MODULES="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
pod-security-admission sample-apiserver sample-cli-plugin sample-controller"

log() { printf '[cluster/build %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

command -v go >/dev/null || { echo "cluster/build.sh: 'go' is not on PATH; install Go >= 1.25" >&2; exit 1; }
mkdir -p "$BIN_DIR" "$WORK_DIR"

want() { # want <name>: true if <name> was asked for (or nothing was) and is not built yet
  local name="$1"
  if [ "${#TARGETS[@]}" -gt 0 ] && [[ " ${TARGETS[*]} " != *" $name "* ]]; then return 1; fi
  if [ -x "$BIN_DIR/$name" ]; then log "$name: already built ($BIN_DIR/$name), skipping"; return 1; fi
  return 0
}

build_etcd() {
  local dir="$WORK_DIR/etcd"
  mkdir -p "$dir"
  log "etcd $ETCD_VERSION: resolving modules"
  ( cd "$dir"
    [ -f go.mod ] || go mod init fullstackagent.local/etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    log "etcd: compiling"
    # server/v3's own go.mod has local replaces, so `go install` fails; build through a wrapper module.
    go build -mod=mod -trimpath -ldflags '-s -w' -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3 )
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
  log "etcd: done -> $BIN_DIR/etcd"
}

build_coredns() {
  log "coredns $COREDNS_VERSION: go install"
  local tmp="$WORK_DIR/coredns-bin"
  mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags '-s -w' "github.com/coredns/coredns@$COREDNS_VERSION"
  mv "$tmp/coredns" "$BIN_DIR/coredns"
  log "coredns: done -> $BIN_DIR/coredns"
}

build_traefik() {
  local dir="$WORK_DIR/traefik"
  mkdir -p "$dir"
  # Traefik's go.mod replaces three modules with forks; a wrapper module has to repeat that.
  cat > "$dir/go.mod" <<EOF_MOD
module fullstackagent.local/traefik-build

go 1.25

require github.com/traefik/traefik/v3 $TRAEFIK_VERSION

replace (
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
	github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595
)

exclude github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible
EOF_MOD
  log "traefik $TRAEFIK_VERSION: resolving modules"
  ( cd "$dir" && go get "github.com/traefik/traefik/v3/cmd/traefik@$TRAEFIK_VERSION"
    log "traefik: compiling"
    go build -mod=mod -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" -o "$BIN_DIR/traefik.tmp" github.com/traefik/traefik/v3/cmd/traefik )
  mv "$BIN_DIR/traefik.tmp" "$BIN_DIR/traefik"
  log "traefik: done -> $BIN_DIR/traefik"
}

build_kwok() {
  log "kwok $KWOK_VERSION: go install"
  local tmp="$WORK_DIR/kwok-bin"
  mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags '-s -w' "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$tmp/kwok" "$BIN_DIR/kwok"
  log "kwok: done -> $BIN_DIR/kwok"
}

prepare_kubernetes() {
  local dir="$WORK_DIR/kubernetes"
  mkdir -p "$dir"
  if [ ! -f "$dir/.resolved" ]; then
    log "kubernetes $K8S_VERSION: writing wrapper go.mod (staging modules -> $K8S_STAGING_VERSION)"
    {
      echo "module fullstackagent.local/kubernetes-build"
      echo
      echo "go 1.25"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      for m in $STAGING_MODULES; do echo "	k8s.io/$m => k8s.io/$m $K8S_STAGING_VERSION"; done
      echo ")"
    } > "$dir/go.mod"
    log "kubernetes: resolving modules (downloads a lot the first time)"
    ( cd "$dir" && go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
        "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
        "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" \
        "k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION" \
        "k8s.io/kubernetes/cmd/kube-proxy@$K8S_VERSION" )
    touch "$dir/.resolved"
  fi
}

build_kube() { # build_kube <command>
  local cmd="$1" dir="$WORK_DIR/kubernetes"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  log "$cmd $K8S_VERSION: compiling"
  ( cd "$dir" && go build -mod=mod -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" )
  mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
  log "$cmd: done -> $BIN_DIR/$cmd"
}

TARGETS=("$@")
START=$(date +%s)
log "building into $BIN_DIR (GOFLAGS=$GOFLAGS)"
want etcd && build_etcd
want kwok && build_kwok
want coredns && build_coredns
want traefik && build_traefik
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  if want "$cmd"; then prepare_kubernetes; build_kube "$cmd"; fi
done
log "all done in $(( $(date +%s) - START ))s; binaries in $BIN_DIR"
ls -la "$BIN_DIR"
