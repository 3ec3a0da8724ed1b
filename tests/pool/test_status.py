"""`airlock status` against a real RabbitMQ node and a real S3 server: queues, workers, fold
counts by status and the infra_error folds with their reasons, as text and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.results.s3 import S3ResultStore
from tests.helpers import REPO
from tests.pool.conftest import Broker
from tests.services import KEY_B, MISSING_LABELS, s3_server, store_two_submissions

BUCKET = "airlock-status"


def test_status_reads_an_s3_store_and_the_broker(broker: Broker, tmp_path: Path) -> None:
    pytest.importorskip("moto")
    from tests.unit.test_leaderboard_ranking import result

    uri = f"s3://{BUCKET}/competition"
    with s3_server(BUCKET) as server:
        store_two_submissions(
            S3ResultStore(uri, client=server.client()), result("team-a", "a", "task1", [0.7, 0.7])
        )
        env = {**os.environ, **server.env, "AIRLOCK_BROKER_URL": broker.url}

        def status(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "runner", "status", "--results", uri, *args],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip

        text = status()
        as_json = status("--json")
    assert text.returncode == 0, text.stderr
    assert "infra_error folds (not run)" in text.stdout
    assert MISSING_LABELS in text.stdout
    assert "Traceback" not in text.stdout + text.stderr
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert set(data["queues"]) == {"cpu", "gpu"}
    assert all(set(q) == {"waiting", "consumers"} for q in data["queues"].values())
    assert isinstance(data["workers"], dict)
    assert data["results"] == uri
    assert data["folds"] == {"infra_error": 1, "ok": 3}
    assert data["infra_errors"] == [
        {"key": KEY_B, "fold_id": "result", "run_id": "run1", "reason": MISSING_LABELS}
    ]
    assert data["unreadable_records"] == []


def test_status_without_a_store_and_without_a_broker(broker: Broker) -> None:
    env = {**os.environ, "AIRLOCK_BROKER_URL": broker.url}
    done = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["results"], data["folds"], data["infra_errors"]) == (None, {}, [])
    env["AIRLOCK_BROKER_URL"] = "amqp://guest:guest@127.0.0.1:1//"
    down = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert down.returncode == 3
    (line,) = down.stderr.splitlines()
    assert line.startswith("airlock: error: cannot reach the broker")
