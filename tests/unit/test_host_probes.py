"""Owner labels (for reaping) and cgroup readers, on this machine's real /proc."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from runner.sandbox.docker.cgroup import CgroupFiles
from runner.sandbox.docker.cleanup import owner_is_dead, owner_label


def test_owner_of_this_process_is_alive_and_of_a_finished_one_is_dead() -> None:
    assert not owner_is_dead(owner_label())
    child = subprocess.Popen(["true"])
    label = owner_label(child.pid)
    child.wait()
    assert owner_is_dead(label)


def test_reused_pid_counts_as_dead_and_other_hosts_are_left_alone() -> None:
    host, pid, _ = owner_label().split(":")
    assert owner_is_dead(f"{host}:{pid}:1")  # same pid, different start time
    assert not owner_is_dead(f"not-{socket.gethostname()}:1:1")


def test_cgroup_files_v1_and_v2_formats(tmp_path: Path) -> None:
    (tmp_path / "cpuacct.usage").write_text("2500000000\n")
    (tmp_path / "max").write_text("1048576\n")
    v1 = CgroupFiles(tmp_path / "cpuacct.usage", 1e-9, False, tmp_path / "max", False)
    sample = v1.sample()
    assert sample is not None
    assert sample.cpu_seconds == 2.5 and sample.peak_memory_bytes == 1048576
    (tmp_path / "cpu.stat").write_text("usage_usec 1500000\nuser_usec 1\n")
    v2 = CgroupFiles(tmp_path / "cpu.stat", 1e-6, True, tmp_path / "max", False)
    assert v2.sample() is not None and v2.sample().cpu_seconds == 1.5  # type: ignore[union-attr]
    os.remove(tmp_path / "max")
    assert v2.sample() is None  # the cgroup is gone once the container has exited
