"""Reading a container's CPU time and peak memory straight from its cgroup.

Docker's stats endpoint can take a second to answer; the cgroup files answer in
microseconds. They are only reachable when the engine runs on this machine (same PID
namespace), so :func:`find_cgroup` returns None otherwise and the caller falls back to the
engine's stats API.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.sandbox.base import ResourceSample

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class CgroupFiles:
    """The files that hold cumulative CPU time and peak (or current) memory."""

    cpu: Path
    cpu_unit_seconds: float
    cpu_is_stat: bool
    memory_peak: Path
    peak_is_current: bool
    """True when the kernel has no peak file and the current use is sampled instead."""

    def sample(self) -> ResourceSample | None:
        """Read both files; None once the cgroup is gone (the container has exited)."""
        try:
            cpu_text = self.cpu.read_text()
            memory = int(self.memory_peak.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if self.cpu_is_stat:
            fields = dict(line.split() for line in cpu_text.splitlines() if " " in line)
            cpu_raw = int(fields.get("usage_usec", "0"))
        else:
            cpu_raw = int(cpu_text.strip() or 0)
        return ResourceSample(cpu_raw * self.cpu_unit_seconds, memory)


def find_cgroup(pid: int, container_id: str, root: Path = CGROUP_ROOT) -> CgroupFiles | None:
    """Locate the cgroup of ``pid`` (a process of the container) on v1 or v2 hierarchies."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    if not any(container_id in line for line in lines):
        return None  # not our PID namespace: the engine runs elsewhere
    v1: dict[str, str] = {}
    v2_path: str | None = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            v2_path = path
        for controller in controllers.split(","):
            v1[controller] = path
    if "memory" in v1 and "cpuacct" in v1:
        memory_dir = root / "memory" / v1["memory"].lstrip("/")
        cpu_dir = root / "cpuacct" / v1["cpuacct"].lstrip("/")
        files = CgroupFiles(
            cpu=cpu_dir / "cpuacct.usage",
            cpu_unit_seconds=1e-9,
            cpu_is_stat=False,
            memory_peak=memory_dir / "memory.max_usage_in_bytes",
            peak_is_current=False,
        )
    elif v2_path is not None:
        base = root / v2_path.lstrip("/")
        peak = base / "memory.peak"
        files = CgroupFiles(
            cpu=base / "cpu.stat",
            cpu_unit_seconds=1e-6,
            cpu_is_stat=True,
            memory_peak=peak if peak.exists() else base / "memory.current",
            peak_is_current=not peak.exists(),
        )
    else:
        return None
    return files if files.sample() is not None else None
