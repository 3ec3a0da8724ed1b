"""Fixtures for the worker-pool tests: a RabbitMQ node, a registry and worker processes,
all real and on loopback (see tests/services.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import RABBITMQ, REGISTRY, REPO, Broker, Pool, Registry, free_port, push

__all__ = ["Broker", "Pool", "push"]


def _missing(what: str) -> None:
    if os.environ.get("AIRLOCK_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{what} is not installed (scripts/ensure-services.sh installs it)")
    pytest.skip(f"{what} is not installed (scripts/ensure-services.sh installs it)")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if not RABBITMQ.exists():
        _missing("rabbitmq-server")
    server = Broker(tmp_path_factory.mktemp("rabbitmq"), free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pool(broker: Broker, tmp_path: Path) -> Iterator[Pool]:
    env = {**os.environ, "AIRLOCK_BROKER_URL": broker.url, "AIRLOCK_CACHE": str(tmp_path / "cache")}
    workers = Pool(env, tmp_path)
    yield workers
    workers.stop()


@pytest.fixture
def airlock(pool: Pool) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runner", *args], cwd=REPO, env=pool.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip

    return run


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[str]:
    if not REGISTRY.exists():
        _missing("docker-registry")
    server = Registry(tmp_path_factory.mktemp("registry"), free_port())
    server.start()
    yield server.address
    server.stop()
