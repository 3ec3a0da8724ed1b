#!/usr/bin/env bash
# Build an Airlock base image without any container registry: debootstrap a Debian
# bookworm "minbase" root filesystem with Debian's packages, then `docker import` it.
# Rebuilt only when this recipe (or the flavour) changes.
#
#   images/base/build.sh [IMAGE] [FLAVOUR]
#     python (default, airlock/base:bookworm): Python 3 and its scientific stack
#     node   (airlock/node:bookworm): Node.js only, for submissions in JavaScript
#   AIRLOCK_DEBIAN_MIRROR=URL images/base/build.sh   to choose the Debian mirror
#
# The mirror defaults to the first one in this machine's apt sources, so nothing here
# names a package host.
set -euo pipefail

IMAGE=${1:-airlock/base:bookworm}
FLAVOUR=${2:-python}
SUITE=bookworm
AIRLOCK_UID=10001
case "$FLAVOUR" in
  python)
    PACKAGES=python3,python3-numpy,python3-pandas,python3-sklearn,python3-scipy,python3-xgboost,python3-venv,python3-pip,ca-certificates
    ENV='ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1'
    CMD='CMD ["python3"]'
    ;;
  node)
    PACKAGES=nodejs,ca-certificates
    ENV='ENV LANG=C.UTF-8'
    CMD='CMD ["node"]'
    ;;
  *) echo "error: flavour $FLAVOUR: use python or node" >&2; exit 2 ;;
esac

recipe=$( (cat "$0"; echo "$FLAVOUR") | sha256sum | cut -c1-16)
current=$(docker image inspect "$IMAGE" --format '{{ index .Config.Labels "io.airlock.recipe" }}' 2>/dev/null || true)
if [ "$current" = "$recipe" ]; then
  echo "base image $IMAGE is up to date (recipe $recipe)"
  exit 0
fi

find_mirror() {
  if [ -n "${AIRLOCK_DEBIAN_MIRROR:-}" ]; then echo "$AIRLOCK_DEBIAN_MIRROR"; return; fi
  local found=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    found=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -z "$found" ] && [ -f /etc/apt/sources.list ]; then
    found=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
  fi
  if [ -z "$found" ]; then
    echo "error: no Debian mirror in /etc/apt/sources*; set AIRLOCK_DEBIAN_MIRROR" >&2
    exit 2
  fi
  echo "$found"
}

if ! command -v debootstrap >/dev/null; then
  echo "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
fi

mirror=$(find_mirror)
work=$(mktemp -d /var/tmp/airlock-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "debootstrap $SUITE (minbase + $PACKAGES) for $IMAGE; takes about a minute"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# The unprivileged user every submission runs as (the runner enforces the uid anyway).
chroot "$rootfs" groupadd --gid "$AIRLOCK_UID" airlock
chroot "$rootfs" useradd --uid "$AIRLOCK_UID" --gid "$AIRLOCK_UID" --home-dir /tmp --no-create-home --shell /usr/sbin/nologin airlock

if [ "$FLAVOUR" = python ]; then
  versions=$(chroot "$rootfs" python3 -c '
import platform, numpy, pandas, sklearn, scipy, xgboost
print(" ".join(f"{n}={m.__version__}" for n, m in
      [("numpy", numpy), ("pandas", pandas), ("scikit-learn", sklearn), ("scipy", scipy), ("xgboost", xgboost)])
      + " python=" + platform.python_version())')
else
  versions="node=$(chroot "$rootfs" node --version | tr -d v)"
fi
echo "base libraries: $versions"

# Slim down: package caches, docs and apt's own sources (there is no network inside).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/etc/apt/sources.list "$rootfs"/etc/apt/sources.list.d/*

tar -C "$rootfs" --numeric-owner -c . | docker import \
  --change "USER $AIRLOCK_UID:$AIRLOCK_UID" \
  --change "WORKDIR /tmp" \
  --change "$ENV" \
  --change "LABEL io.airlock.recipe=$recipe" \
  --change "LABEL io.airlock.versions=\"$versions\"" \
  --change "$CMD" \
  - "$IMAGE" >/dev/null
echo "built $IMAGE ($(docker image inspect "$IMAGE" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
