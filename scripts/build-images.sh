#!/usr/bin/env bash
# Build every image Airlock needs: the base (debootstrap + import, offline), the SDK image
# on it, the baselines image (pinned wheels from the package index, the one step that
# needs it), and the sample submissions. Layers are cached, so re-running is fast.
#   BASE_IMAGE=python:3.11-slim scripts/build-images.sh   starts the SDK from a public image
#   NODE_BASE_IMAGE=node:20-slim scripts/build-images.sh  the same for the Node.js sample
set -euo pipefail
cd "$(dirname "$0")/.."

export DOCKER_BUILDKIT=0  # the classic builder uses local images without asking a registry
BASE_IMAGE=${BASE_IMAGE:-airlock/base:bookworm}
NODE_BASE_IMAGE=${NODE_BASE_IMAGE:-airlock/node:bookworm}
CA_BUNDLE=${AIRLOCK_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

if [ "$BASE_IMAGE" = "airlock/base:bookworm" ]; then
  images/base/build.sh "$BASE_IMAGE" python
fi
# The second-language sample (Node.js) starts from its own Debian base.
if [ "$NODE_BASE_IMAGE" = "airlock/node:bookworm" ]; then
  images/base/build.sh "$NODE_BASE_IMAGE" node
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
build() {  # build TAG CONTEXT [docker build options...]
  local tag=$1 context=$2
  shift 2
  if ! docker build --quiet "$@" --tag "$tag" "$context" >/dev/null 2>"$log"; then
    cat "$log" >&2
    echo "error: building $tag failed" >&2
    exit 1
  fi
  echo "built $tag"
}

build airlock/sdk:latest images/sdk --build-arg "BASE_IMAGE=$BASE_IMAGE"

# The baselines image installs pinned wheels; pip inside the build needs this machine's CA
# bundle (outbound TLS may be intercepted), so it joins a temporary copy of the context.
context=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$context"' EXIT
cp -r images/baselines/. "$context/"
if [ -f "$CA_BUNDLE" ]; then cp "$CA_BUNDLE" "$context/host-ca.crt"; else : >"$context/host-ca.crt"; fi
build airlock/baselines:latest "$context"

for dir in sample_submissions/*/; do
  name=$(basename "$dir")
  [ -f "$dir/Dockerfile" ] || continue
  args=()
  if grep -q '^ARG BASE_IMAGE=airlock/node:' "$dir/Dockerfile"; then
    args=(--build-arg "BASE_IMAGE=$NODE_BASE_IMAGE")
  fi
  build "airlock/sample-$name:latest" "$dir" "${args[@]}"
done
