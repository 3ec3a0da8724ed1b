"""The competition server at scale: its database on a real PostgreSQL, its folds handed to
two real workers through RabbitMQ, images through a real registry. Two teams submit; the
workers' fold records are the results; the boards rank the teams."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.competition.conftest import add_team, airlock, start_server, write_competition
from tests.helpers import REPO
from tests.pool.conftest import Broker, Pool
from tests.services import Postgres, postgres_bin

pytestmark = pytest.mark.docker


def test_postgresql_and_two_workers(
    broker: Broker, pool: Pool, registry: str, docker_client: Any, tmp_path: Path
) -> None:
    if postgres_bin() is None:
        pytest.fail("PostgreSQL is not installed (scripts/ensure-services.sh installs it)")
    docker_client.images.build(path=str(REPO / "sample_submissions" / "node-centroid"),
                               tag="airlock-test/node-centroid:latest", rm=True)  # fmt: skip
    docker_client.images.build(path=str(REPO / "tests" / "fixtures" / "js-constant"),
                               tag="airlock-test/js-constant:latest", rm=True)  # fmt: skip
    pg_root = Path(tempfile.mkdtemp(prefix="airlock-pg-"))
    database = Postgres(pg_root)
    database.start()
    server = None
    try:
        write_competition(tmp_path)
        tokens = {team: add_team(database.url, team) for team in ("alpha", "beta")}
        for name in ("w1", "w2"):
            pool.start(name)
        server = start_server(tmp_path, database.url, "--broker", broker.url,
                              "--registry", registry, env=pool.env)  # fmt: skip
        server.tokens = tokens
        ids = {}
        for team, image in (("alpha", "airlock-test/node-centroid:latest"),
                            ("beta", "airlock-test/js-constant:latest")):  # fmt: skip
            env = {**pool.env, "XDG_CONFIG_HOME": str(tmp_path / team)}
            assert airlock("login", server.url, "--token", tokens[team], env=env).returncode == 0
            done = airlock("submit", image, "--phase", "public", "--no-wait", env=env)
            assert done.returncode == 0, done.stdout + done.stderr
            ids[team] = done.stdout.split()[1]
        deadline = time.monotonic() + 400
        shown: dict[str, Any] = {}
        while time.monotonic() < deadline:
            for team, submission_id in ids.items():
                with server.client(team) as client:
                    shown[team] = client.get(f"/api/v1/submissions/{submission_id}").json()
            if all(s["status"] == "finished" for s in shown.values()):
                break
            time.sleep(1)
        assert all(s["status"] == "finished" for s in shown.values()), shown
        with server.client("alpha") as client:
            board = client.get("/api/v1/leaderboard/public").json()
        assert [row["team"] for row in board["boards"][0]["rows"]] == ["alpha", "beta"]
        logs = pool.log_text("w1") + pool.log_text("w2")
        assert logs.count(": ok") + logs.count(" ok\n") >= 1
        assert "Traceback" not in logs
    finally:
        if server is not None:
            server.stop()
        database.stop()
        shutil.rmtree(pg_root, ignore_errors=True)
        os.environ.pop("XDG_CONFIG_HOME", None)
