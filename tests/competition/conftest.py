"""A competition on the sample bundles, its database (SQLite, or a real PostgreSQL started
in a temporary directory), and `airlock serve` as a real process on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from tests.helpers import REPO, bundle_variant
from tests.services import Postgres, free_port, postgres_bin


def write_competition(root: Path, **phase_changes: object) -> Path:
    """Two phases on a 2-fold sample bundle: `public` (scores shown) and `final` (hidden)."""
    bundles = root / "bundles"
    bundles.mkdir(parents=True, exist_ok=True)
    if not (bundles / "synth-loco-3class").exists():
        bundle_variant("synth-loco-3class", bundles, folds=["crew_C1", "crew_C2"],
                       time_limits={"handshake_seconds": 60, "fit_seconds": 60, "predict_seconds": 60})  # fmt: skip
    public = {"name": "public", "bundles": "bundles", "opens": "2026-01-01T00:00:00Z",
              "closes": "2030-01-01T00:00:00Z", "quota": {"per_day": 3, "in_flight": 3}}  # fmt: skip
    public.update(phase_changes)
    final = {**public, "name": "final", "scores": "hidden"}
    spec = {"id": "demo", "title": "Demo competition", "results": "results",
            "phases": [public, final]}  # fmt: skip
    path = root / "competition.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'competition.db'}"
        return
    if postgres_bin() is None:
        if os.environ.get("AIRLOCK_REQUIRE_DOCKER") == "1":
            pytest.fail("PostgreSQL is not installed (scripts/ensure-services.sh installs it)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="airlock-pg-"))  # not under pytest's 0700 tmp root
    server = Postgres(root)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def airlock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=env, check=False)  # fmt: skip


def add_team(db: str, name: str) -> str:
    done = airlock("teams", "add", name, "--db", db)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("token ", 1)[1].split()[0]


@dataclass
class Server:
    url: str
    db: str
    root: Path
    process: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)
    log: Path = Path()

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)

    def stop(self, sig: int = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)


def start_server(root: Path, db: str, *extra: str, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = root / f"serve-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "serve", str(root / "competition.yaml"), "--db", db,
         "--port", str(port), "--uploads", str(root / "uploads"), *extra],
        cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"airlock serve exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/docs", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.3)
    return Server(url, db, root, process, log=log)


@pytest.fixture
def competition_root(tmp_path: Path) -> Path:
    write_competition(tmp_path)
    return tmp_path


@pytest.fixture
def server(competition_root: Path, docker_client: object) -> Iterator[Server]:
    db = f"sqlite:///{competition_root / 'competition.db'}"
    tokens = {name: add_team(db, name) for name in ("alpha", "beta")}
    done = airlock("teams", "organizer-token", "--db", db)
    tokens["organizer"] = done.stdout.split("token ", 1)[1].strip()
    running = start_server(competition_root, db)
    running.tokens = tokens
    yield running
    running.stop()
