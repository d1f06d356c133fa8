#!/usr/bin/env bash
# Builds the runtime image tagged with runtime/VERSION (kept equal to RUNTIME_IMAGE_VERSION
# in common/versions.ts; runtime/versions.test.ts checks it). Uses docker when an engine
# answers, buildah otherwise.
# Usage: runtime/build.sh [--push | --local]
#   --push   push the image after building it
#   --local  no Docker Hub here: build through cluster/images-cli.ts instead (Debian base from
#            mmdebstrap, buildah with chroot isolation, an OCI archive in $CACHE_DIR/images)
# BASE_IMAGE overrides the Dockerfile's base; BUILD_CA_FILE (a CA bundle for a
# TLS-intercepting egress proxy) is handed to the build as the secret build_ca.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' < "$here/VERSION")"
repository="${RUNTIME_IMAGE_REPOSITORY:-ghcr.io/fullstackagent/fullstack-web-runtime}"
image="${repository}:${version}"

if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "build.sh: runtime/VERSION must be a semantic version like 1.2.3, got '${version}'" >&2
  exit 1
fi

if [[ "${1:-}" == "--local" ]]; then
  cd "$here/.."
  exec npx tsx cluster/images-cli.ts build runtime
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  builder=docker
elif command -v buildah >/dev/null 2>&1; then
  builder=buildah
else
  echo "build.sh: neither a reachable docker engine nor buildah was found" >&2
  exit 1
fi

args=(--tag "$image")
if [[ -n "${BASE_IMAGE:-}" ]]; then
  args+=(--build-arg "BASE_IMAGE=${BASE_IMAGE}")
fi
if [[ -n "${BUILD_CA_FILE:-}" ]]; then
  args+=(--secret "id=build_ca,src=${BUILD_CA_FILE}")
fi

echo "build.sh: building ${image} with ${builder}"
if [[ "$builder" == docker ]]; then
  DOCKER_BUILDKIT=1 docker build "${args[@]}" "$here"
else
  buildah bud --isolation chroot "${args[@]}" "$here"
fi

if [[ "${1:-}" == "--push" ]]; then
  "$builder" push "$image"
fi
