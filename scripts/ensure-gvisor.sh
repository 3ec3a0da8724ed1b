#!/usr/bin/env bash
# Make gVisor's runsc usable as the Docker runtime `runsc` (airlock run --runtime runsc):
# install Debian's runsc package when absent, add the runtime to /etc/docker/daemon.json
# (keeping every other setting there), have dockerd reload it (SIGHUP: running containers
# are untouched), then start a trivial container under it. Idempotent and quiet when all is
# in place. Exit 0 when runsc works; 1 with the reason when it cannot (e.g. a kernel that
# refuses it); `airlock doctor` reports the same check.
#
# The runtime arguments are the ones that work on a host without usable KVM:
#   --platform=ptrace  the sentry intercepts system calls with ptrace (no /dev/kvm needed;
#                      slower than --platform=kvm, which needs nested virtualisation)
#   --network=none     gVisor's own network stack refuses the root network namespace, and
#                      Airlock's folds have no network anyway
# AIRLOCK_GVISOR_PLATFORM=kvm picks the KVM platform on hosts where it works.
set -euo pipefail

RUNTIME=${AIRLOCK_GVISOR_RUNTIME:-runsc}
PLATFORM=${AIRLOCK_GVISOR_PLATFORM:-ptrace}
DAEMON_JSON=${AIRLOCK_DAEMON_JSON:-/etc/docker/daemon.json}
TEST_IMAGE=${AIRLOCK_GVISOR_TEST_IMAGE:-airlock/base:bookworm}

works() {
  timeout 60 docker run --rm --runtime "$RUNTIME" --network none "$TEST_IMAGE" true >/dev/null 2>&1
}

if [ "$(id -u)" != 0 ]; then
  if works; then exit 0; fi
  echo "error: setting up gVisor needs root (installing runsc, editing $DAEMON_JSON)" >&2
  exit 1
fi

if ! command -v runsc >/dev/null 2>&1; then
  echo "installing gVisor from Debian's packages (runsc)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q runsc >/dev/null
fi
RUNSC=$(command -v runsc)

# Merge the runtime entry into daemon.json (created when absent); other keys are kept.
mkdir -p "$(dirname "$DAEMON_JSON")"
changed=$(python3 - "$DAEMON_JSON" "$RUNTIME" "$RUNSC" "$PLATFORM" <<'EOF'
import json, os, sys
path, name, binary, platform = sys.argv[1:]
config = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        config = json.load(f)
entry = {"path": binary, "runtimeArgs": [f"--platform={platform}", "--network=none"]}
if config.get("runtimes", {}).get(name) != entry:
    config.setdefault("runtimes", {})[name] = entry
    with open(path + ".tmp", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"{path}: runtime {name!r} = {binary} --platform={platform} --network=none")
EOF
)

# dockerd re-reads its runtimes on SIGHUP (running containers are untouched); under systemd
# `systemctl reload docker` does the same.
if ! pid=$(pgrep -x dockerd); then
  echo "error: dockerd is not running here (scripts/ensure-docker.sh starts it)" >&2
  exit 1
fi
if [ -n "$changed" ] || ! docker info --format '{{json .Runtimes}}' | grep -q "\"$RUNTIME\""; then
  [ -z "$changed" ] || echo "$changed"
  kill -HUP "$pid"
  sleep 1
fi
for _ in $(seq 1 20); do
  if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q "\"$RUNTIME\""; then
    break
  fi
  sleep 0.5
done

if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  echo "gVisor runtime '$RUNTIME' configured; not tried: image $TEST_IMAGE missing (make images)"
  exit 0
fi
if ! out=$(timeout 60 docker run --rm --runtime "$RUNTIME" --network none "$TEST_IMAGE" true 2>&1); then
  echo "error: a container under '$RUNTIME' does not start on this host: ${out:-timed out}" >&2
  exit 1
fi
[ -z "$changed" ] || echo "gVisor ready: runtime '$RUNTIME' (platform $PLATFORM)"
