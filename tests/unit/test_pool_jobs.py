"""The worker pool without a broker: what `airlock enqueue` checks before publishing, and what
a worker does with a job it cannot run (stored as an infra_error fold at the job's own key,
one log line, never dropped)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runner.bundle.load import load_bundle
from runner.distributed.enqueue import check_suite
from runner.distributed.execute import JobRef, job_key, store_unrunnable
from runner.distributed.jobs import Job
from runner.distributed.status import store_status
from runner.distributed.tasks import INFRA_RETRIES, RetryLater, WorkerContext, handle
from runner.errors import EngineUnavailable, ImageUnavailable, UsageError
from runner.evaluate import LogPolicy
from runner.results.store import LocalResultStore
from runner.resume import FoldRecord, record_name
from runner.run import Plan, ResourceRequest, applied_limits
from runner.sandbox.base import ImageInfo
from runner.sandbox.docker.sandbox import DockerProvider
from runner.verdict import Status
from tests.helpers import REPO, bundle_variant, copy_bundle

IMAGE = "127.0.0.1:5000/team-a/model@sha256:" + "a" * 64
IMAGE_ID = "sha256:" + "1" * 64
TEAM = "team-a"


class FakeEngine:
    """The part of DockerEngine a worker uses before a container starts."""

    def __init__(self, images: dict[str, str] | None = None, pull_error: Exception | None = None):
        self.images = dict(images or {})
        self.pull_error = pull_error
        self.pulls = 0

    def has_image(self, ref: str) -> bool:
        return ref in self.images

    def image(self, ref: str) -> ImageInfo:
        return ImageInfo(ref, self.images[ref], [], "10001", {})

    def pull(self, ref: str) -> None:
        self.pulls += 1
        if self.pull_error is not None:
            raise self.pull_error
        self.images[ref] = IMAGE_ID


def provider(**kwargs: Any) -> DockerProvider:
    return DockerProvider(engine=FakeEngine(**kwargs))  # type: ignore[arg-type]


def split_sealed(bundle: Path, sealed_root: Path) -> Path:
    """Move the bundle's own sealed/ to ``sealed_root/<bundle id>`` (as --sealed-out does)."""
    target = sealed_root / load_bundle(bundle, verify=False).spec.id
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(bundle / "sealed"), str(target))
    return target


def job_for(bundle: Path, results: Path, **changes: Any) -> Job:
    loaded = load_bundle(bundle, verify=False)
    fields: dict[str, Any] = {
        "suite_id": "suite1", "image": IMAGE, "team": TEAM, "bundle_uri": str(bundle),
        "bundle_hash": loaded.hash, "bundle_id": loaded.spec.id, "fold_id": loaded.spec.folds[0],
        "results_uri": str(results), "enqueued_at": time.time(),
    }  # fmt: skip
    fields.update(changes)
    return Job(**fields)


def records(results: Path) -> dict[str, FoldRecord]:
    return {
        p.relative_to(results).as_posix(): FoldRecord.model_validate_json(p.read_bytes())
        for p in sorted(results.glob("*/*/folds/*.json"))
    }


def plan_key(bundle: Path, image_id: str, team: str) -> str:
    """The key `airlock run` and a worker that runs the fold give it."""
    loaded = load_bundle(bundle)
    applied = applied_limits(loaded, ResourceRequest())
    image = ImageInfo(IMAGE, image_id, [], "10001", {})
    return Plan(loaded, applied, image, LogPolicy.of(True, None), team).key


# --- enqueue: every bundle checked as a worker checks it, before anything is published ---


def test_enqueue_refuses_a_bundle_without_its_sealed_labels(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    split_sealed(bundle, tmp_path / "sealed")
    with pytest.raises(UsageError) as refused:
        check_suite(bundle, None, "cpu")
    message = str(refused.value)
    assert "synth-loco-3class" in message
    assert "sealed labels" in message
    assert "--sealed" in message
    (checked,) = check_suite(bundle, tmp_path / "sealed", "cpu")  # the same, with --sealed
    assert checked.sealed == (tmp_path / "sealed" / "synth-loco-3class").resolve()


def test_enqueue_refuses_sealed_labels_that_do_not_match_the_manifest(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    sealed = split_sealed(bundle, tmp_path / "sealed")
    labels = sealed / "crew_C2" / "y.csv"
    lines = labels.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]  # two labels swapped
    labels.write_text("\n".join(lines) + "\n")
    if (
        labels.read_bytes()
        == (REPO / "task_bundles/synth-loco-3class/sealed/crew_C2/y.csv").read_bytes()
    ):
        pytest.skip("the swapped rows carry the same label")
    with pytest.raises(UsageError) as refused:
        check_suite(bundle, tmp_path / "sealed", "cpu")
    assert "synth-loco-3class" in str(refused.value)
    assert "do not match" in str(refused.value)


def test_enqueue_refuses_a_suite_whose_sealed_dir_lacks_a_bundle(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    split_sealed(copy_bundle("synth-loco-3class", suite), tmp_path / "sealed")
    copy_bundle("synth-lomo-highdim", suite)  # keeps its labels inside: not in --sealed
    with pytest.raises(UsageError) as refused:
        check_suite(suite, tmp_path / "sealed", "cpu")
    message = str(refused.value)
    assert message.startswith("sealed labels missing for bundle synth-lomo-highdim")
    assert "pass --sealed DIR" in message


def test_enqueue_refuses_a_tampered_bundle_and_duplicate_ids(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path / "one")
    (bundle / "folds" / "crew_C1" / "train" / "X.csv").write_text("id,f0\nx,1\n")
    with pytest.raises(UsageError, match=r"^bundle synth-loco-3class: .*crew_C1/train/X\.csv"):
        check_suite(bundle, None, "cpu")
    suite = tmp_path / "suite"
    suite.mkdir()
    copy_bundle("synth-loco-3class", suite)
    shutil.copytree(suite / "synth-loco-3class", suite / "again")
    with pytest.raises(UsageError, match="given twice"):
        check_suite(suite, None, "cpu")


def test_enqueue_cli_refusal_is_one_line_before_docker_or_broker(tmp_path: Path) -> None:
    """Exit 2, one line, nothing published: the broker named here does not even exist."""
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    split_sealed(bundle, tmp_path / "sealed")
    done = subprocess.run(
        [sys.executable, "-m", "runner", "enqueue", "--image", IMAGE, "--suite", str(bundle),
         "--results", str(tmp_path / "results")],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "AIRLOCK_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
             "DOCKER_HOST": "unix:///nonexistent.sock"},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("airlock: error: ")
    assert "synth-loco-3class" in line
    assert "--sealed" in line
    assert done.stdout == ""


# --- a worker: a job it cannot run is stored as infra_error at its own key ---


def one_record(results: Path) -> tuple[str, FoldRecord]:
    (item,) = records(results).items()
    return item


def assert_logged_once(caplog: pytest.LogCaptureFixture, text: str) -> None:
    lines = [r for r in caplog.records if r.name == "airlock.worker" and text in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert lines[0].exc_info is None  # one line, no traceback
    assert "\n" not in lines[0].getMessage()


def test_missing_sealed_labels_stored_at_the_folds_own_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "airlock.worker")
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    split_sealed(bundle, tmp_path / "sealed")
    results = tmp_path / "results"
    job = job_for(bundle, results)  # sealed_uri None: the bundle's own sealed/, gone
    context = WorkerContext(provider=provider(images={IMAGE: IMAGE_ID}))
    done = handle(job.model_dump(), context, final_attempt=False)
    assert isinstance(done, dict)
    assert done["kind"] == "unrunnable"
    where, record = one_record(results)
    assert where == f"{plan_key(bundle, IMAGE_ID, TEAM)}/{record_name('crew_C1')}"
    assert record.result.status == "infra_error"
    assert record.result.fold_id == "crew_C1"
    assert "sealed labels" in record.result.reason
    assert record.run_id == "suite1"
    assert record.result.queued_at is not None
    assert_logged_once(caplog, "stored as infra_error")
    status = store_status(LocalResultStore(results))
    assert status.statuses == {"infra_error": 1}
    (failed,) = status.infra_errors
    assert (failed.key, failed.fold_id) == (plan_key(bundle, IMAGE_ID, TEAM), "crew_C1")
    assert failed.reason == record.result.reason


def test_the_failure_key_is_the_runners_key_for_another_team(tmp_path: Path) -> None:
    """Keys include the team: the same image and bundle for two teams are two keys."""
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    ref = JobRef.of(job_for(bundle, tmp_path / "r", team="team-b"))
    assert job_key(ref, IMAGE_ID) == plan_key(bundle, IMAGE_ID, "team-b")


def test_a_changed_bundle_is_stored_not_dropped(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    results = tmp_path / "results"
    job = job_for(bundle, results, bundle_hash="sha256:" + "0" * 64)
    handle(
        job.model_dump(),
        WorkerContext(provider=provider(images={IMAGE: IMAGE_ID})),
        final_attempt=False,
    )
    _, record = one_record(results)
    assert "is not the enqueued" in record.result.reason


def test_an_image_that_cannot_be_pulled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "airlock.worker")
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    results = tmp_path / "results"
    job = job_for(bundle, results, image_id=IMAGE_ID)
    gone = provider(pull_error=ImageUnavailable(f"cannot pull {IMAGE!r}: image not found"))
    handle(job.model_dump(), WorkerContext(provider=gone), final_attempt=False)  # at once
    where, record = one_record(results)
    # keyed by the image id the enqueuing machine saw (no engine here has the image)
    assert where.startswith(plan_key(bundle, IMAGE_ID, TEAM) + "/")
    assert "image not found" in record.result.reason
    assert_logged_once(caplog, "stored as infra_error")


def test_an_infrastructure_failure_is_retried_then_stored(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    results = tmp_path / "results"
    job = job_for(bundle, results)  # no image id: keyed by the registry digest
    down = provider(pull_error=EngineUnavailable("cannot pull: connection refused"))
    context = WorkerContext(provider=down)
    for _ in range(INFRA_RETRIES):
        assert isinstance(handle(job.model_dump(), context, final_attempt=False), RetryLater)
    assert records(results) == {}
    handle(job.model_dump(), context, final_attempt=True)
    where, record = one_record(results)
    assert where.startswith(plan_key(bundle, IMAGE.rpartition("@")[2], TEAM) + "/")
    assert (
        record.result.reason == f"cannot pull: connection refused (after {INFRA_RETRIES} retries)"
    )


def test_a_message_that_is_not_a_job(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "airlock.worker")
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    results = tmp_path / "results"
    payload = job_for(bundle, results).model_dump()
    payload["memory"] = ["not", "a", "size"]
    handle(payload, WorkerContext(provider=provider()), final_attempt=False)
    _, record = one_record(results)
    assert record.result.reason.startswith("not a valid job message (memory: ")
    assert_logged_once(caplog, "stored as infra_error")
    caplog.clear()
    dropped = handle("garbage", WorkerContext(provider=provider()), final_attempt=False)
    assert isinstance(dropped, dict)
    assert dropped["kind"] == "dropped"  # nothing says where it belongs: one line, nothing else
    assert_logged_once(caplog, "not a job was dropped")
    caplog.clear()
    payload["bundle_id"] = "../../escape"  # no key may hold it: refused, one line
    dropped = handle(payload, WorkerContext(provider=provider()), final_attempt=False)
    assert isinstance(dropped, dict)
    assert dropped["kind"] == "dropped"
    assert_logged_once(caplog, "not storable")
    assert not (tmp_path / "escape").exists()
    assert len(records(results)) == 1


def test_a_stored_outcome_is_never_replaced_by_a_failure(tmp_path: Path) -> None:
    bundle = bundle_variant("synth-loco-3class", tmp_path)
    results = tmp_path / "results"
    ref = JobRef.of(job_for(bundle, results))
    assert store_unrunnable(ref, "first failure", IMAGE_ID) is not None
    assert store_unrunnable(ref, "second failure", IMAGE_ID) is not None  # infra_error: replaced
    ((path, record),) = records(results).items()
    assert record.result.reason == "second failure"
    ok = record.model_copy(
        update={"result": record.result.model_copy(update={"status": Status.OK, "reason": ""})}
    )
    (results / path).write_text(ok.model_dump_json())
    assert store_unrunnable(ref, "a late redelivery", IMAGE_ID) is None
    assert json.loads((results / path).read_text())["result"]["status"] == "ok"
