"""Fixtures for tests that run real containers on a real Docker engine."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.results.store import LocalResultStore
from runner.run import ResourceRequest, RunRequest, StoredResult, SuiteRunner
from runner.sandbox.docker.sandbox import DockerProvider
from tests.helpers import REPO

BEHAVE_DIR = REPO / "tests" / "fixtures" / "behave"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def behave_image(docker_client: Any) -> Callable[..., str]:
    """Build (once per session) the fixture submission with a given behaviour."""
    built: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def build(behaviour: str, **build_args: str) -> str:
        key = (behaviour, tuple(sorted(build_args.items())))
        if key not in built:
            tag = f"airlock-test/behave-{behaviour}:{abs(hash(key)) % 10**8}"
            docker_client.images.build(
                path=str(BEHAVE_DIR),
                tag=tag,
                rm=True,
                buildargs={"BEHAVIOUR": behaviour, **build_args},
            )
            built[key] = tag
        return built[key]

    return build


@pytest.fixture(scope="session")
def provider(docker_client: Any) -> DockerProvider:
    return DockerProvider()


@pytest.fixture
def run_suite(provider: DockerProvider, tmp_path: Path) -> Callable[..., list[StoredResult]]:
    """Run an image on bundles in-process, the way `airlock run` does."""

    def run(image: str, bundles: list[Path], **resources: Any) -> list[StoredResult]:
        request = RunRequest(image=image, bundles=bundles, resources=ResourceRequest(**resources))
        return SuiteRunner(provider, LocalResultStore(tmp_path / "results")).run(request)

    return run


@pytest.fixture
def tcp_listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP server on every host address (loopback and the Docker bridge gateway) that
    records who connects; the tests assert that no container ever does."""
    import socket

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen()
    server.settimeout(0.2)
    connections: list[str] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, address = server.accept()
            except OSError:
                continue
            connections.append(address[0])
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if os.environ.get("AIRLOCK_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (AIRLOCK_REQUIRE_BROWSER=1)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()
