"""Shared fixtures. Docker-needing tests carry the ``docker`` marker and skip with the
reason when no engine or image is available, unless AIRLOCK_REQUIRE_DOCKER=1 (set by
``make test`` and CI), which turns the skip into a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("AIRLOCK_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason} (AIRLOCK_REQUIRE_DOCKER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    """A docker SDK client for test set-up and inspection (the runner has its own)."""
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        _unavailable(f"no Docker engine reachable: {exc}")
    for image in ("airlock/base:bookworm", "airlock/sdk:latest", "airlock/sample-logreg:latest"):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            _unavailable(f"image {image} missing; run `make images`")
    yield client
    client.close()


@pytest.fixture(scope="session")
def gvisor(docker_client: object) -> str:
    """The gVisor runtime's name, set up by scripts/ensure-gvisor.sh (installs Debian's runsc
    and registers it with dockerd when absent, as root). Skips, with the script's own reason,
    where this host cannot run it (exit 77: e.g. a kernel that refuses its ptrace platform);
    a failed set-up is a failure under AIRLOCK_REQUIRE_DOCKER=1, like a missing engine."""
    import subprocess

    from tests.helpers import REPO

    done = subprocess.run([str(REPO / "scripts" / "ensure-gvisor.sh")], capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    reason = " ".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-1:])
    if done.returncode == 77:
        pytest.skip(f"gVisor cannot run on this host: {reason}")
    if done.returncode != 0:
        _unavailable(f"scripts/ensure-gvisor.sh failed: {reason}")
    return "runsc"
