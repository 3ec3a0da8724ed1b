#!/usr/bin/env bash
# Make sure a Docker engine is usable: install Debian's docker.io when dockerd is absent,
# start dockerd in the background when it is not answering, and wait until it does.
# Used by .ci/run and by `make demo` / `make test`, so a fresh Debian machine (as root)
# needs nothing else. Idempotent and quiet when the engine already works.
set -euo pipefail

LOG=${AIRLOCK_DOCKERD_LOG:-/var/log/airlock-dockerd.log}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "error: the Docker engine is not reachable and setting it up needs root;" >&2
  echo "       start dockerd (or add yourself to the docker group) and try again" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "installing Docker from Debian's packages (docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "starting dockerd (log: $LOG)"
  nohup dockerd >"$LOG" 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "Docker engine ready: $(docker version --format '{{.Server.Version}}')"
    exit 0
  fi
  sleep 1
done
echo "error: dockerd did not become ready within 60 s; last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
