#!/usr/bin/env bash
# Builds the runtime image tagged with runtime/VERSION (kept equal to RUNTIME_IMAGE_VERSION
# in common/versions.ts; runtime/versions.test.ts checks it). Uses docker when an engine
# answers, buildah otherwise. Usage: runtime/build.sh [--push]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' < "$here/VERSION")"
repository="${RUNTIME_IMAGE_REPOSITORY:-ghcr.io/fullstackagent/fullstack-web-runtime}"
image="${repository}:${version}"

if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "build.sh: runtime/VERSION must be a semantic version like 1.2.3, got '${version}'" >&2
  exit 1
fi

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  builder=docker
elif command -v buildah >/dev/null 2>&1; then
  builder=buildah
else
  echo "build.sh: neither a reachable docker engine nor buildah was found" >&2
  exit 1
fi

echo "build.sh: building ${image} with ${builder}"
if [[ "$builder" == docker ]]; then
  docker build --tag "$image" "$here"
else
  buildah bud --tag "$image" "$here"
fi

if [[ "${1:-}" == "--push" ]]; then
  "$builder" push "$image"
fi
