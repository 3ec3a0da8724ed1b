#!/usr/bin/env bash
# Make gVisor's runsc usable as the Docker runtime `runsc` (airlock run --runtime runsc):
# install Debian's runsc package when absent, add the runtime to dockerd's daemon.json
# (keeping every other setting, and an existing runsc entry, there), have dockerd reload it
# (running containers are untouched), then start a trivial container under it. Idempotent.
#
# Exit 0: runsc works. Exit 77: set up, but this host cannot run it (the trial container
# does not start: e.g. a kernel that refuses its ptrace platform). Exit 1: the set-up itself
# failed (not root, no package, no dockerd...), with the reason. `airlock doctor` reports
# the same check.
#
# The runtime arguments are the ones that work on a host without usable KVM:
#   --platform=ptrace  the sentry intercepts system calls with ptrace (no /dev/kvm needed;
#                      slower than --platform=kvm, which needs working (nested) KVM)
#   --network=none     gVisor's own network stack refuses the root network namespace, and
#                      Airlock's folds have no network anyway
# AIRLOCK_GVISOR_PLATFORM=kvm writes the KVM platform instead (and replaces an existing entry).
set -euo pipefail

RUNTIME=${AIRLOCK_GVISOR_RUNTIME:-runsc}
PLATFORM=${AIRLOCK_GVISOR_PLATFORM:-}
TEST_IMAGE=${AIRLOCK_GVISOR_TEST_IMAGE:-airlock/base:bookworm}
TRIAL=airlock-gvisor-trial-$$

trial() {  # start `true` under the runtime; the container is removed whatever happens
  local code=0
  timeout 60 docker run --name "$TRIAL" --rm --runtime "$RUNTIME" --network none \
    "$TEST_IMAGE" true >/dev/null 2>"/tmp/$TRIAL.err" || code=$?
  docker rm -f "$TRIAL" >/dev/null 2>&1 || true
  return $code
}
listed() {
  docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q "\"$RUNTIME\""
}

if [ "$(id -u)" != 0 ]; then
  if listed && trial; then exit 0; fi
  echo "error: setting up gVisor needs root (installing runsc, editing dockerd's daemon.json)" >&2
  exit 1
fi

# The dockerd to configure: root's, the oldest if there are several (rootless ones are not).
if ! pid=$(pgrep -o -x -u root dockerd); then
  echo "error: dockerd is not running here (scripts/ensure-docker.sh starts it)" >&2
  exit 1
fi
# Its configuration file: --config-file on its command line, else the default.
DAEMON_JSON=$(tr '\0' '\n' <"/proc/$pid/cmdline" | sed -n 's/^--config-file=//p' | head -1)
if [ -z "$DAEMON_JSON" ]; then
  DAEMON_JSON=$(tr '\0' '\n' <"/proc/$pid/cmdline" | grep -A1 -x -- '--config-file' | tail -n +2 | head -1 || true)
fi
DAEMON_JSON=${DAEMON_JSON:-/etc/docker/daemon.json}

if ! command -v runsc >/dev/null 2>&1; then
  echo "installing gVisor from Debian's packages (runsc)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q runsc >/dev/null
fi
RUNSC=$(command -v runsc)

# Merge the runtime entry into daemon.json (created when absent); other keys are kept, and
# so is an existing entry for this runtime unless AIRLOCK_GVISOR_PLATFORM asks for another.
mkdir -p "$(dirname "$DAEMON_JSON")"
changed=$(python3 - "$DAEMON_JSON" "$RUNTIME" "$RUNSC" "$PLATFORM" <<'EOF'
import json, os, shutil, sys
path, name, binary, platform = sys.argv[1:]
config = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    try:
        with open(path) as f:
            config = json.load(f)
    except ValueError as exc:
        sys.exit(f"error: {path} is not valid JSON ({exc}); fix it, then run this again")
    if not isinstance(config, dict):
        sys.exit(f"error: {path} does not hold a JSON object; fix it, then run this again")
runtimes = config.get("runtimes") or {}
entry = {"path": binary, "runtimeArgs": [f"--platform={platform or 'ptrace'}", "--network=none"]}
if name in runtimes and not platform:
    sys.exit(0)  # the operator's own entry stays
if runtimes.get(name) != entry:
    runtimes[name] = entry
    config["runtimes"] = runtimes
    with open(path + ".tmp", "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if os.path.exists(path):
        shutil.copystat(path, path + ".tmp")
        st = os.stat(path)
        os.chown(path + ".tmp", st.st_uid, st.st_gid)
    os.replace(path + ".tmp", path)
    print(f"{path}: runtime {name!r} = {binary} {' '.join(entry['runtimeArgs'])}")
EOF
)

# dockerd re-reads its runtimes on SIGHUP (running containers are untouched); under systemd
# `systemctl reload docker` does the same.
if [ -n "$changed" ] || ! listed; then
  [ -z "$changed" ] || echo "$changed"
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker 2>/dev/null; then
    systemctl reload docker
  else
    kill -HUP "$pid"
  fi
  for _ in $(seq 1 20); do
    sleep 0.5
    if listed; then break; fi
  done
fi
if ! listed; then
  echo "error: dockerd did not pick up the runtime '$RUNTIME' from $DAEMON_JSON" >&2
  exit 1
fi

if ! docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  echo "gVisor runtime '$RUNTIME' configured; not tried: image $TEST_IMAGE missing (make images)"
  exit 0
fi
if ! trial; then
  reason=$(tail -n 1 "/tmp/$TRIAL.err" 2>/dev/null || true)
  rm -f "/tmp/$TRIAL.err"
  echo "error: a container under '$RUNTIME' does not start on this host: ${reason:-timed out}" >&2
  exit 77
fi
rm -f "/tmp/$TRIAL.err"
[ -z "$changed" ] || echo "gVisor ready: runtime '$RUNTIME'"
