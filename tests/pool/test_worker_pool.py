"""A real broker, a real registry and real `airlock worker` processes: every fold result
lands exactly once, through worker deaths and a broker restart."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.limits import LABEL_MANAGED, LABEL_OWNER
from tests.helpers import REPO, SAMPLES
from tests.pool.conftest import Broker, Pool, push

pytestmark = pytest.mark.docker

SUITE_BUNDLES = ["synth-loco-3class", "synth-lomo-highdim"]  # 4 + 3 folds


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    root.mkdir()
    for name in SUITE_BUNDLES:
        (root / name).symlink_to(SAMPLES / name)
    return root


def _records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("*/*/folds/*.json"))]


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def _executions(pool: Pool, names: list[str]) -> Counter[str]:
    """How many times each fold was run and stored, from the workers' own logs."""
    runs: Counter[str] = Counter()
    for name in names:
        for match in re.finditer(r"airlock\.worker INFO (\S+/\S+) of (\S+): ", pool.log_text(name)):
            runs[f"{match.group(2)} {match.group(1)}"] += 1
    return runs


def test_two_workers_two_images_every_fold_exactly_once(
    pool: Pool,
    airlock: Callable[..., Any],
    registry: str,
    docker_client: Any,
    suite: Path,
    tmp_path: Path,
) -> None:
    images = [
        push(docker_client, registry, f"airlock/sample-{n}", f"pool/{n}")
        for n in ("logreg", "random")
    ]
    results = tmp_path / "results"
    for name in ("w1", "w2"):
        pool.start(name)
    for image in images:
        done = airlock(
            "enqueue", "--image", image, "--suite", str(suite), "--results", str(results)
        )
        assert done.returncode == 0, done.stderr
        assert "enqueued 7 job(s)" in done.stdout
    _wait_for(lambda: len(list(results.glob("*/*/result.json"))) == 4, 300, "4 results")
    records = _records(results)
    assert len(records) == 14
    keys = Counter((r["fingerprint"], r["result"]["fold_id"]) for r in records)
    assert set(keys.values()) == {1}
    runs = _executions(pool, ["w1", "w2"])
    assert len(runs) == 14
    assert set(runs.values()) == {1}, runs
    for path in results.glob("*/*/result.json"):
        result = json.loads(path.read_text())
        assert result["aggregate"]["complete"] is True
        assert result["provenance"]["log_policy"] == "sealed"
        assert "@sha256:" in result["provenance"]["image_ref"]
    status = airlock("status", "--results", str(results))
    assert status.returncode == 0, status.stderr
    assert re.search(r"ok\s+│\s+14", status.stdout), status.stdout
    assert "w1@test" in status.stdout


def test_sigkill_a_worker_mid_fold(
    pool: Pool, airlock: Callable[..., Any], registry: str, docker_client: Any, tmp_path: Path
) -> None:
    docker_client.images.build(
        path=str(REPO / "tests" / "fixtures" / "hostile"), tag="airlock-test/hostile-slow-fit:latest", rm=True,
        buildargs={"BEHAVIOUR": "slow_fit", "TARGET_FOLD": "*"},
    )  # fmt: skip
    image = push(docker_client, registry, "airlock-test/hostile-slow-fit:latest", "pool/slow")
    results = tmp_path / "results"
    first = pool.start("victim")
    pool.start("other")
    done = airlock(
        "enqueue",
        "--image",
        image,
        "--suite",
        str(SAMPLES / "synth-loco-3class"),
        "--results",
        str(results),
    )
    assert done.returncode == 0, done.stderr

    def victim_containers() -> list[Any]:
        # sparse: one list call, labels included (a full listing inspects each container and
        # fails when one is removed in between, as the other worker's containers are)
        found = docker_client.containers.list(
            all=True, filters={"label": LABEL_MANAGED}, sparse=True
        )
        return [
            c
            for c in found
            if (c.attrs.get("Labels") or {}).get(LABEL_OWNER, "").split(":")[1:2]
            == [str(first.pid)]
        ]

    _wait_for(lambda: bool(victim_containers()), 120, "the first worker to start a fold")
    time.sleep(1.0)  # in the middle of the fold (it sleeps 3 s in fit)
    first.send_signal(signal.SIGKILL)
    first.wait()
    # Its watchdog removes the dead worker's containers within seconds.
    _wait_for(lambda: not victim_containers(), 15, "the killed worker's containers to go")
    _wait_for(lambda: len(list(results.glob("*/*/result.json"))) == 1, 300, "the suite to complete")
    records = _records(results)
    assert sorted(r["result"]["fold_id"] for r in records) == [
        "crew_C1",
        "crew_C2",
        "crew_C3",
        "crew_C4",
    ]
    assert all(r["result"]["status"] == "ok" for r in records)
    (result,) = [json.loads(p.read_text()) for p in results.glob("*/*/result.json")]
    assert result["aggregate"]["complete"] is True
    runs = _executions(pool, ["victim", "other"])
    assert runs and set(runs.values()) == {
        1
    }  # the killed fold was run (and stored) once, by "other"
    pool.start("victim-again")  # nothing was left for the restarted worker to reap
    _wait_for(lambda: "reaped" in pool.log_text("victim-again"), 60, "the restarted worker")
    assert "reaped 0 leftover container" in pool.log_text("victim-again")


def test_a_hostile_fold_on_a_worker_is_stored_with_its_typed_status(
    pool: Pool,
    airlock: Callable[..., Any],
    registry: str,
    docker_client: Any,
    tmp_path: Path,
) -> None:
    """A 5,000-digit integer on stdout once aborted the fold on a worker (an uncaught
    ValueError) and the fold never completed: now it is a protocol_error like any other,
    stored once, and the suite completes."""
    docker_client.images.build(
        path=str(REPO / "tests" / "fixtures" / "hostile"), tag="airlock-test/hostile-huge-integer:latest",
        rm=True, buildargs={"BEHAVIOUR": "huge_integer", "TARGET_FOLD": "crew_C1"},
    )  # fmt: skip
    image = push(docker_client, registry, "airlock-test/hostile-huge-integer:latest", "pool/int")
    results = tmp_path / "results"
    pool.start("lone")
    done = airlock(
        "enqueue", "--image", image, "--suite", str(SAMPLES / "synth-loco-3class"),
        "--results", str(results),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _wait_for(lambda: len(list(results.glob("*/*/result.json"))) == 1, 300, "the suite")
    (result,) = [json.loads(p.read_text()) for p in results.glob("*/*/result.json")]
    statuses = {f["fold_id"]: (f["status"], f["reason"]) for f in result["folds"]}
    assert statuses["crew_C1"] == (
        "protocol_error",
        "stdout line holds an integer longer than 20 digits (during fit)",
    )
    assert all(status == "ok" for fold, (status, _) in statuses.items() if fold != "crew_C1")
    assert "Traceback" not in pool.log_text("lone")


def test_broker_restart_during_a_suite(
    pool: Pool,
    airlock: Callable[..., Any],
    registry: str,
    docker_client: Any,
    broker: Broker,
    suite: Path,
    tmp_path: Path,
) -> None:
    image = push(docker_client, registry, "airlock/sample-logreg", "pool/logreg-restart")
    results = tmp_path / "results"
    pool.start("steady")
    done = airlock("enqueue", "--image", image, "--suite", str(suite), "--results", str(results))
    assert done.returncode == 0, done.stderr
    _wait_for(lambda: len(_records(results)) >= 2, 180, "the first folds")
    broker.restart()
    _wait_for(
        lambda: len(list(results.glob("*/*/result.json"))) == 2,
        300,
        "the suite to complete after the restart",
    )
    records = _records(results)
    assert len(records) == 7
    assert len({(r["fingerprint"], r["result"]["fold_id"]) for r in records}) == 7


def test_worker_pulls_images_it_does_not_have(
    pool: Pool, airlock: Callable[..., Any], registry: str, docker_client: Any, tmp_path: Path
) -> None:
    context = tmp_path / "image"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM airlock-test/behave-noop:latest\nLABEL io.airlock.test.unique={os.getpid()}-{time.time_ns()}\n"
    )
    docker_client.images.build(
        path=str(REPO / "tests" / "fixtures" / "behave"), tag="airlock-test/behave-noop:latest", rm=True,
        buildargs={"BEHAVIOUR": "noop"},
    )  # fmt: skip
    image, _ = docker_client.images.build(
        path=str(context), tag="airlock-test/pull-me:latest", rm=True
    )
    pushed = push(docker_client, registry, "airlock-test/pull-me:latest", "pool/pull-me")
    done = airlock(
        "enqueue",
        "--image",
        pushed,
        "--suite",
        str(SAMPLES / "synth-loco-3class"),
        "--results",
        str(tmp_path / "results"),
    )
    assert done.returncode == 0, done.stderr
    docker_client.images.remove(
        image.id, force=True
    )  # gone from this engine before the worker starts
    pool.start("puller")
    _wait_for(
        lambda: len(list((tmp_path / "results").glob("*/*/result.json"))) == 1, 300, "the suite"
    )
    assert docker_client.images.get(image.id).id == image.id  # pulled back by digest


def test_gpu_jobs_only_go_to_gpu_workers(
    pool: Pool, airlock: Callable[..., Any], registry: str, docker_client: Any, tmp_path: Path
) -> None:
    from tests.helpers import bundle_variant

    if "nvidia" in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("this engine has GPUs: the refusal cannot be shown here")
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C1"], resources={"gpus": 1})
    image = push(docker_client, registry, "airlock/sample-random", "pool/random-gpu")
    refused = airlock(
        "enqueue", "--image", image, "--suite", str(bundle), "--results", str(tmp_path / "r")
    )
    assert refused.returncode == 2
    assert "asks for 1 GPU(s): enqueue it with --queue gpu" in refused.stderr
    gpu_worker = airlock("worker", "--queues", "gpu")
    assert gpu_worker.returncode == 2
    assert "must not consume the gpu queue" in gpu_worker.stderr
    cpu = pool.start("cpu-only")
    done = airlock(
        "enqueue",
        "--image",
        image,
        "--suite",
        str(bundle),
        "--results",
        str(tmp_path / "r"),
        "--queue",
        "gpu",
    )
    assert done.returncode == 0, done.stderr
    _wait_for(lambda: "ready" in pool.log_text("cpu-only").lower(), 60, "the cpu worker")
    time.sleep(3)
    status = airlock("status")
    assert re.search(r"gpu\s+│\s+1\s", status.stdout), status.stdout  # still waiting
    assert not (tmp_path / "r").exists()  # the cpu worker never took it
    assert cpu.poll() is None
