#!/usr/bin/env bash
# Build every image Airlock needs, offline: the base (debootstrap + import), the SDK image
# on it, and the sample submissions. Layers are cached, so re-running is fast.
#   BASE_IMAGE=python:3.11-slim scripts/build-images.sh   starts the SDK from a public image
set -euo pipefail
cd "$(dirname "$0")/.."

export DOCKER_BUILDKIT=0  # the classic builder uses local images without asking a registry
BASE_IMAGE=${BASE_IMAGE:-airlock/base:bookworm}

if [ "$BASE_IMAGE" = "airlock/base:bookworm" ]; then
  images/base/build.sh "$BASE_IMAGE"
fi

build() {  # build TAG DIR [BASE]
  local tag=$1 dir=$2
  docker build --quiet --build-arg "BASE_IMAGE=$3" --tag "$tag" "$dir" >/dev/null 2>"/tmp/airlock-build-$$.log" \
    || { cat "/tmp/airlock-build-$$.log" >&2; rm -f "/tmp/airlock-build-$$.log"; echo "error: building $tag failed" >&2; exit 1; }
  rm -f "/tmp/airlock-build-$$.log"
  echo "built $tag"
}

build airlock/sdk:latest images/sdk "$BASE_IMAGE"
for dir in sample_submissions/*/; do
  name=$(basename "$dir")
  [ -f "$dir/Dockerfile" ] && build "airlock/sample-$name:latest" "$dir" airlock/sdk:latest
done
