"""Running one job on a worker, exactly as `airlock run` runs a fold, at most once per key.

Order matters for exactly-once: a stored fold record makes the job a no-op; the record is
written before the broker is acknowledged (the task acknowledges late); the submission's
result is assembled, idempotently, by whichever worker stores the last fold.

A job that cannot run at all (its bundle or sealed labels are missing or do not match, its
image cannot be pulled, its message is not a job...) is not dropped: :func:`store_unrunnable`
stores an ``infra_error`` fold record with the reason at the key the fold's result would have
had, so ``airlock status`` shows it, and a later delivery that runs replaces it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from runner import resume
from runner.distributed.bundles import DEFAULT_CACHE, fetch_bundle, fetch_sealed
from runner.distributed.jobs import HASH_PATTERN, ID_PATTERN, Job
from runner.errors import BundleError, InfraError
from runner.evaluate import LogPolicy, evaluate_fold
from runner.results.model import FoldResources, FoldResult
from runner.results.store import RESULT_NAME, ResultStore, result_key, store_at
from runner.run import (
    Plan,
    ResourceRequest,
    applied_limits,
    assemble_result,
    load_for_run,
    persist_fold,
    stored_fold,
    team_of,
)
from runner.sandbox.base import SandboxProvider, SandboxSpec
from runner.schedule import FoldSchedule, fold_slot
from runner.verdict import Status

log = logging.getLogger("airlock.worker")

UNRUNNABLE = "unrunnable"
"""The fingerprint of a record stored for a job that could not run (never reused)."""
MAX_REASON = 500
_ID = re.compile(ID_PATTERN)
_DIGEST = re.compile(HASH_PATTERN)


@dataclass(frozen=True)
class Outcome:
    """What a job did: ``stored`` (ran and stored), ``already-stored`` (a redelivery) or
    ``infra_error`` (the machine failed; the caller may retry). ``completed`` is the result
    location when this job finished the submission's last fold."""

    kind: str
    fold_status: str
    completed: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class JobRef:
    """What a failure record needs from a job: where it goes and whose fold it is. Built from
    a valid :class:`Job`, or from whatever a message that is not one still says."""

    results_uri: str
    image: str
    team: str
    bundle_id: str
    bundle_hash: str
    fold_id: str
    suite_id: str = "unknown"
    image_id: str | None = None
    enqueued_at: float | None = None

    @classmethod
    def of(cls, job: Job) -> JobRef:
        return cls(
            results_uri=job.results_uri, image=job.image, team=job.team,
            bundle_id=job.bundle_id, bundle_hash=job.bundle_hash, fold_id=job.fold_id,
            suite_id=job.suite_id, image_id=job.image_id, enqueued_at=job.enqueued_at,
        )  # fmt: skip

    @classmethod
    def from_payload(cls, payload: object) -> JobRef | None:
        """The fields a malformed message still carries, or None when it does not say where
        its result goes or whose fold it is (then nothing can be stored)."""
        if not isinstance(payload, Mapping):
            return None
        text = {k: v for k, v in payload.items() if isinstance(k, str) and isinstance(v, str)}
        needed = ("results_uri", "image", "bundle_id", "bundle_hash", "fold_id")
        if any(not text.get(name) for name in needed):
            return None
        when = payload.get("enqueued_at")
        return cls(
            results_uri=text["results_uri"], image=text["image"],
            team=text.get("team") or team_of(text["image"]), bundle_id=text["bundle_id"],
            bundle_hash=text["bundle_hash"], fold_id=text["fold_id"],
            suite_id=text.get("suite_id") or "unknown", image_id=text.get("image_id"),
            enqueued_at=float(when) if isinstance(when, int | float) else None,
        )  # fmt: skip

    def describe(self) -> str:
        return f"{self.bundle_id}/{self.fold_id} of {self.image}"


def one_line(reason: str) -> str:
    text = " ".join(reason.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def key_image_id(ref: JobRef, provider: SandboxProvider | None) -> str:
    """The image id that keys the job's result, as the runner finds it (the image on this
    engine); else the one the enqueuing machine saw; else, when no engine has the image, the
    registry digest of the job's reference (the image id cannot be known without it)."""
    if provider is not None:
        try:
            if provider.has_image(ref.image):
                return provider.describe_image(ref.image).id
        except InfraError:
            pass
    if ref.image_id and _DIGEST.fullmatch(ref.image_id):
        return ref.image_id
    _, _, digest = ref.image.rpartition("@")
    if _DIGEST.fullmatch(digest):
        return digest
    return "sha256:" + hashlib.sha256(ref.image.encode()).hexdigest()


def job_key(ref: JobRef, image_id: str) -> str:
    """The store key of the job's (submission, bundle), the one ``Plan.key`` gives it."""
    return result_key(image_id, ref.bundle_id, ref.bundle_hash, ref.team)


def unrunnable_record(ref: JobRef, reason: str) -> resume.FoldRecord:
    now = datetime.now(UTC)
    queued = datetime.fromtimestamp(ref.enqueued_at, UTC) if ref.enqueued_at else None
    result = FoldResult(
        fold_id=ref.fold_id,
        status=Status.INFRA_ERROR,
        reason=one_line(reason),
        n_test=0,
        resources=FoldResources(phases={}, wall_seconds=0.0),
        started_at=now,
        finished_at=now,
        queued_at=queued,
    )
    return resume.FoldRecord(fingerprint=UNRUNNABLE, run_id=ref.suite_id, result=result)


def store_unrunnable(
    ref: JobRef,
    reason: str,
    image_id: str,
    store: ResultStore | None = None,
) -> str | None:
    """Store an ``infra_error`` record for a job that could not run, at the fold's own key;
    returns where, or None when an earlier delivery already stored the fold's real outcome
    (which is kept). Raises StoreError when the store cannot be written, BundleError when the
    job's bundle id, fold id or bundle hash could not be part of a key."""
    for name in (ref.bundle_id, ref.fold_id):
        if not _ID.fullmatch(name):
            raise BundleError(f"the job names {name[:80]!r}, which is not a bundle or fold id")
    if not _DIGEST.fullmatch(ref.bundle_hash):
        raise BundleError(f"the job's bundle hash {ref.bundle_hash[:80]!r} is not sha256:<hex>")
    store = store or store_at(ref.results_uri)
    key = job_key(ref, image_id)
    name = resume.record_name(ref.fold_id)
    existing = store.get_artifact(key, name)
    if existing is not None:
        try:
            earlier = resume.FoldRecord.model_validate_json(existing)
        except ValidationError:
            earlier = None
        if earlier is not None and earlier.result.status is not Status.INFRA_ERROR:
            return None
    where = store.put_artifact(key, name, unrunnable_record(ref, reason).model_dump_json().encode())
    store.finish()
    return where


def plan_for(
    job: Job, provider: SandboxProvider, cache: Path = DEFAULT_CACHE, runtime: str | None = None
) -> Plan:
    """Fetch, verify and load the bundle; make sure the image is here (pulling it by digest)
    and the engine has the worker's container runtime."""
    path = fetch_bundle(job.bundle_uri, job.bundle_hash, cache)
    sealed = fetch_sealed(job.sealed_uri, job.bundle_hash, cache)
    (bundle,) = load_for_run([path], sealed)
    if bundle.spec.id != job.bundle_id:
        raise BundleError(
            f"{job.bundle_uri}: holds bundle {bundle.spec.id!r}, not {job.bundle_id!r}"
        )
    if job.fold_id not in bundle.spec.folds:
        raise BundleError(f"{job.bundle_id}: no fold {job.fold_id!r}")
    image = provider.ensure_image(job.image)
    applied = applied_limits(
        bundle, ResourceRequest(memory=job.memory, cpus=job.cpus, gpus=job.gpus)
    )
    provider.check_gpus(applied.gpus)
    runtime = provider.resolve_runtime(runtime) or "runc"
    provider.check(SandboxSpec(image.id, path, applied, runtime=runtime))
    policy = LogPolicy.of(job.sealed_mode, job.log_lines)
    return Plan(bundle, applied, image, policy, job.team, runtime=runtime)


def execute(
    job: Job,
    provider: SandboxProvider,
    *,
    store: ResultStore | None = None,
    cancel: threading.Event | None = None,
    final_attempt: bool = True,
    cache: Path = DEFAULT_CACHE,
    schedule: FoldSchedule | None = None,
    runtime: str | None = None,
) -> Outcome:
    store = store or store_at(job.results_uri)
    plan = plan_for(job, provider, cache, runtime)
    existing = stored_fold(store, plan, job.fold_id)
    if existing is not None:
        log.info("%s/%s of %s already stored: nothing to do", job.bundle_id, job.fold_id, job.image)
        # The worker that stored it may have died before assembling the result.
        completed = None
        if store.get_artifact(plan.key, RESULT_NAME) is None:
            completed = complete_if_done(store, plan, job, provider)
        return Outcome("already-stored", existing.result.status, completed=completed)
    cancel = cancel or threading.Event()
    schedule = schedule or FoldSchedule.ONE_PER_HOST
    with fold_slot(schedule, plan.image.id, cancel):
        if schedule is FoldSchedule.ONE_PER_HOST:
            provider.forget(plan.image)
        report = evaluate_fold(provider, plan.job(job.fold_id, job.suite_id), cancel=cancel)
    queued = datetime.fromtimestamp(job.enqueued_at, UTC)
    report = dataclasses.replace(
        report, result=report.result.model_copy(update={"queued_at": queued})
    )
    status = report.result.status
    if status is Status.INFRA_ERROR and not final_attempt:
        return Outcome("infra_error", status, reason=report.result.reason)
    persist_fold(store, plan, report, job.suite_id)
    log.info("%s/%s of %s: %s", job.bundle_id, job.fold_id, job.image, status)
    return Outcome("stored", status, completed=complete_if_done(store, plan, job, provider))


def complete_if_done(
    store: ResultStore, plan: Plan, job: Job, provider: SandboxProvider
) -> str | None:
    """Assemble and store the submission's result once every fold has a record."""
    reports = [stored_fold(store, plan, fold_id) for fold_id in plan.bundle.spec.folds]
    if any(report is None for report in reports):
        return None
    done = [report for report in reports if report is not None]
    started = min(report.result.started_at for report in done)
    stored = assemble_result(
        store,
        plan,
        done,
        run_id=job.suite_id,
        engine=provider.engine_description(),
        started_at=started,
    )
    store.finish()
    return stored.location
