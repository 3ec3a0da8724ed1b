"""`airlock doctor` on a machine whose engine is down (a closed socket), and its checks
judged on the engine facts they read."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.doctor import (
    DISK_FAIL_BYTES,
    DISK_WARN_BYTES,
    check_disk,
    check_gpu,
    check_isolation,
    check_version,
)
from runner.sandbox.base import EngineFacts
from tests.helpers import run_airlock


@pytest.fixture
def closed_socket(tmp_path: Path) -> Iterator[Path]:
    """A unix socket that exists but where nothing listens: connecting is refused."""
    path = tmp_path / "docker.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    yield path
    sock.close()


def test_doctor_with_the_engine_stopped_names_the_problem_and_the_fix(
    closed_socket: Path, tmp_path: Path
) -> None:
    env = {"DOCKER_HOST": f"unix://{closed_socket}", "PATH": "/usr/bin:/bin"}
    done = run_airlock("doctor", "--results", str(tmp_path / "results"), env=env)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    engine = next(line for line in lines if line.startswith("FAIL  engine"))
    assert f"cannot reach the Docker engine at unix://{closed_socket}: connection refused" in engine
    fix = lines[lines.index(engine) + 1].strip()
    assert fix.startswith(f"fix: DOCKER_HOST=unix://{closed_socket} points at no running engine")
    assert "scripts/ensure-docker.sh" in fix
    for check in ("isolation", "gpu", "disk", "images"):
        assert f"skip  {check:<10} needs the engine" in done.stdout
    assert any(line.startswith("ok    store") for line in lines)  # the rest is still checked
    assert "1 problem(s)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr

    as_json = run_airlock("doctor", "--json", "--results", str(tmp_path / "r"), env=env)
    findings = {f["check"]: f for f in json.loads(as_json.stdout)}
    assert findings["engine"]["state"] == "fail"
    assert findings["engine"]["fix"]


def test_a_run_with_the_engine_stopped_points_at_doctor(
    closed_socket: Path, tmp_path: Path
) -> None:
    env = {"DOCKER_HOST": f"unix://{closed_socket}", "PATH": "/usr/bin:/bin"}
    done = run_airlock(
        "run", "--image", "x", "-b", "task_bundles/synth-loco-3class",
        "--results", str(tmp_path), env=env,
    )  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.strip() == (
        f"airlock: error: cannot reach the Docker engine at unix://{closed_socket}: "
        "connection refused (`airlock doctor` says what to do)"
    )


def test_a_store_that_cannot_be_written_fails_with_the_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run_airlock("doctor", "--results", str(blocker / "results"))
    assert done.returncode == 1
    assert f"FAIL  store      {blocker / 'results'}: cannot write there: " in done.stdout
    assert "fix: choose a writable directory with --results" in done.stdout


def test_engine_facts_are_judged() -> None:
    assert check_version(EngineFacts("docker 19.03.1", "1.40")).state == "fail"
    assert check_version(EngineFacts("docker 24.0.7", "1.43")).state == "ok"
    full = {"MemoryLimit": True, "PidsLimit": True, "CpuCfsQuota": True, "SwapLimit": True,
            "SecurityOptions": ["name=seccomp,profile=default"], "CgroupVersion": "2"}  # fmt: skip
    assert check_isolation(full).state == "ok"
    no_memory = check_isolation({**full, "MemoryLimit": False})
    assert (no_memory.state, "memory limits" in no_memory.detail) == ("fail", True)
    assert check_isolation({**full, "SwapLimit": False}).state == "warn"
    no_gpu, gpu = EngineFacts("docker 24", "1.43"), EngineFacts("d", "1.43", gpu_capable=True)
    assert check_gpu(no_gpu).state == "warn"
    assert check_gpu(gpu, count=lambda: 2).detail.endswith("2 GPU(s)")
    assert check_gpu(gpu, count=lambda: 0).state == "fail"
    assert check_disk({"DockerRootDir": "/nonexistent/docker"}).state == "skip"
    free = shutil.disk_usage("/").free
    expected = "fail" if free < DISK_FAIL_BYTES else "warn" if free < DISK_WARN_BYTES else "ok"
    assert check_disk({"DockerRootDir": "/"}).state == expected
