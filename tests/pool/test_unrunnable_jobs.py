"""Jobs a real worker cannot run are stored, not dropped: each becomes an infra_error fold
record with its reason at the fold's own result key, the worker logs one line for it (no
traceback), `airlock status` lists it, and a later delivery that runs replaces it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.bundle.load import load_bundle
from runner.distributed.enqueue import enqueue
from runner.distributed.jobs import TASK_NAME, Job
from runner.distributed.tasks import INFRA_RETRIES, make_app
from runner.evaluate import LogPolicy
from runner.run import Plan, ResourceRequest, applied_limits
from runner.sandbox.base import ImageInfo
from tests.helpers import REPO, bundle_variant
from tests.pool.conftest import Broker, Pool, push

pytestmark = pytest.mark.docker


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def _records(results: Path) -> dict[str, dict[str, Any]]:
    return {
        p.relative_to(results).as_posix(): json.loads(p.read_text())
        for p in sorted(results.glob("*/*/folds/*.json"))
    }


def _runner_key(bundle: Path, image_ref: str, image_id: str, team: str) -> str:
    """The key `airlock run` (and a worker that runs the fold) stores the fold under."""
    loaded = load_bundle(bundle)
    image = ImageInfo(image_ref, image_id, [], "", {})
    return Plan(
        loaded, applied_limits(loaded, ResourceRequest()), image, LogPolicy.of(True, None), team
    ).key


def test_unrunnable_jobs_are_stored_as_infra_error(
    broker: Broker,
    pool: Pool,
    registry: str,
    docker_client: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    image = push(docker_client, registry, "airlock/sample-random", "pool/unrunnable")
    digest = docker_client.images.get_registry_data(image).id
    image_ref = f"{registry}/pool/unrunnable@{digest}"
    image_id = docker_client.images.get(image).id
    request.addfinalizer(lambda: docker_client.images.remove(image, noprune=True))  # the tag
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C1"])
    sealed = tmp_path / "sealed-elsewhere"
    shutil.move(str(bundle / "sealed"), str(sealed))  # labels moved away from the bundle
    results = tmp_path / "results"
    loaded = load_bundle(bundle)

    def job(**changes: Any) -> Job:
        fields: dict[str, Any] = {
            "suite_id": "suite1", "image": image_ref, "team": "team-a", "bundle_uri": str(bundle),
            "bundle_hash": loaded.hash, "bundle_id": loaded.spec.id, "fold_id": "crew_C1",
            "results_uri": str(results), "enqueued_at": time.time(),
        }  # fmt: skip
        return Job(**{**fields, **changes})

    absent = f"{registry}/pool/absent@sha256:" + "0" * 64
    app = make_app(broker.url)
    pool.start("keeper")
    # 1. the sealed labels are not where the job says (what `enqueue` without --sealed did)
    enqueue(app, [job()])
    # 2. a message that is not a job (a field of the wrong type), for team-b
    payload = job(team="team-b").model_dump()
    payload["cpus"] = "a lot"
    app.send_task(TASK_NAME, args=[payload], queue="cpu")
    # 3. an image no registry has: an infrastructure failure, retried, then stored (team-c)
    enqueue(app, [job(image=absent, team="team-c", sealed_uri=str(sealed))])
    _wait_for(lambda: len(_records(results)) == 3, 120, "three infra_error records")
    found = _records(results)
    key_a = _runner_key(bundle, image_ref, image_id, "team-a")
    key_b = _runner_key(bundle, image_ref, image_id, "team-b")
    key_c = _runner_key(bundle, absent, "sha256:" + "0" * 64, "team-c")  # no engine has it
    assert set(found) == {f"{key}/folds/crew_C1.json" for key in (key_a, key_b, key_c)}
    a, b, c = (found[f"{key}/folds/crew_C1.json"]["result"] for key in (key_a, key_b, key_c))
    assert {a["status"], b["status"], c["status"]} == {"infra_error"}
    assert "sealed labels" in a["reason"]
    assert b["reason"].startswith("not a valid job message (cpus: ")
    assert "cannot pull" in c["reason"]
    assert c["reason"].endswith(f"(after {INFRA_RETRIES} retries)")
    log = pool.log_text("keeper")
    assert "Traceback" not in log
    stored_lines = [line for line in log.splitlines() if "stored as infra_error" in line]
    assert len(stored_lines) == 3, log

    env = {**os.environ, "AIRLOCK_BROKER_URL": broker.url}
    status = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--json", "--results", str(results)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["folds"] == {"infra_error": 3}
    assert sorted(f["key"] for f in data["infra_errors"]) == sorted([key_a, key_b, key_c])
    assert "keeper@test" in data["workers"]

    # The organizer passes the labels: the same fold runs and replaces its infra_error record.
    enqueue(app, [job(sealed_uri=str(sealed))])
    _wait_for((results / key_a / "result.json").is_file, 180, "the fold to run")
    record = _records(results)[f"{key_a}/folds/crew_C1.json"]
    assert record["result"]["status"] == "ok"
    again = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--json", "--results", str(results)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert json.loads(again.stdout)["folds"] == {"infra_error": 2, "ok": 1}
