"""The container settings for a fold, as plain data (pure, so every rule is unit-tested).

Isolation is the default and there is no switch to weaken it: no network, read-only root,
all capabilities dropped, no privilege escalation, a non-root user, bounded pids, memory
with no extra swap, CPU quota, a size-capped /tmp as the only writable place, the fold's
own copy of its train directory read-only, no engine-side log storage (the runner reads
the streams itself).

Nothing on the host is shared by two containers: no engine init binary (``init`` would
bind-mount one host file into every container, and byte-range locks on it are a channel
between concurrent folds), no /dev/shm (``ipc: none``), a read-only /dev/mqueue, and IPC
limits of zero (no POSIX message queues, SysV shared memory, semaphores or message queues
even inside the container's own IPC namespace).
"""

from __future__ import annotations

import math
from typing import Any

from runner import limits
from runner.sandbox.base import SandboxSpec


def container_environment(spec: SandboxSpec) -> dict[str, str]:
    """Environment given to the submission: paths, and thread counts matching the CPU limit."""
    threads = str(max(1, math.ceil(spec.limits.cpus)))
    return {
        "AIRLOCK_TRAIN_DIR": limits.TRAIN_MOUNT,
        "HOME": limits.TMPFS_PATH,
        "TMPDIR": limits.TMPFS_PATH,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        # No /dev/shm or semaphores (see module docstring): joblib runs in serial mode
        # instead of warning on every import.
        "JOBLIB_MULTIPROCESSING": "0",
    }


MASKED_PATHS = (
    # the engine's own defaults (setting the list replaces them)
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
    # the host's global counters, which every container reads and changes: forks and
    # context switches, memory, load, I/O, interrupts, open files, locks
    "/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/vmstat", "/proc/diskstats",
    "/proc/interrupts", "/proc/softirqs", "/proc/pressure", "/proc/schedstat",
    "/proc/zoneinfo", "/proc/buddyinfo", "/proc/pagetypeinfo", "/proc/locks",
    "/proc/sys/fs/file-nr", "/proc/sys/fs/inode-nr", "/proc/sys/fs/dentry-state",
    "/proc/sys/kernel/random/entropy_avail",
)  # fmt: skip
"""Paths that read as empty in the container: a fold could otherwise signal to a later or
concurrent one by forking, allocating or locking, through counters the host keeps for all."""

IPC_SYSCTLS = {
    "kernel.shmmax": "0",
    "kernel.shmall": "0",
    "kernel.shmmni": "0",
    "kernel.msgmni": "0",
    "kernel.sem": "0 0 0 0",
}
"""Zero IPC limits for the container's own IPC namespace (allowed, as it is not the host's)."""


def create_kwargs(spec: SandboxSpec) -> dict[str, Any]:
    """Keyword arguments for the engine's create call (docker SDK ``containers.create``)."""
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "stdin_open": True,
        "detach": True,
        "user": spec.limits.user,
        "environment": container_environment(spec),
        "working_dir": limits.TMPFS_PATH,
        "hostname": "airlock",
        "labels": dict(spec.labels),
        "network_mode": "none",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "pids_limit": spec.limits.pids_limit,
        "mem_limit": spec.limits.memory_bytes,
        "memswap_limit": spec.limits.memory_bytes,
        "nano_cpus": int(spec.limits.cpus * 1e9),
        "tmpfs": {
            limits.TMPFS_PATH: f"rw,nosuid,nodev,size={spec.limits.tmpfs_bytes},mode=1777",
        },
        "volumes": {
            str(spec.train_dir.resolve()): {"bind": limits.TRAIN_MOUNT, "mode": "ro"},
        },
        "log_config": {"Type": "none", "Config": {}},
        "ipc_mode": "none",
        "mounts": [
            {
                "Target": "/dev/mqueue",
                "Type": "tmpfs",
                "ReadOnly": True,
                "TmpfsOptions": {"SizeBytes": 4096},
            }
        ],
        "ulimits": [{"name": "msgqueue", "soft": 0, "hard": 0}],
        "sysctls": dict(IPC_SYSCTLS),
        "masked_paths": list(MASKED_PATHS),
        # always named, so a host whose dockerd defaults to another runtime cannot change
        # what the fold runs under (and what its result records)
        "runtime": spec.runtime,
    }
    if spec.limits.gpus > 0:
        kwargs["device_requests"] = [{"count": spec.limits.gpus, "capabilities": [["gpu"]]}]
    return kwargs


GPU_RUNTIME = "nvidia"


def gpu_problem(spec: SandboxSpec, runtimes: set[str]) -> str | None:
    """Why the engine cannot give ``spec`` its GPUs, or None when it can (or none are asked)."""
    if spec.limits.gpus == 0 or GPU_RUNTIME in runtimes:
        return None
    found = ", ".join(sorted(runtimes)) or "none"
    return (
        f"the bundle asks for {spec.limits.gpus} GPU(s) but the Docker engine has no "
        f"'{GPU_RUNTIME}' "
        f"runtime (it has: {found}); install the NVIDIA Container Toolkit on this machine or "
        "run GPU bundles on a GPU worker"
    )
