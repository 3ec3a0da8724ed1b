"""Running one job on a worker, exactly as `airlock run` runs a fold, at most once per key.

Order matters for exactly-once: a stored fold record makes the job a no-op; the record is
written before the broker is acknowledged (the task acknowledges late); the submission's
result is assembled, idempotently, by whichever worker stores the last fold.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runner.distributed.bundles import DEFAULT_CACHE, fetch_bundle, fetch_sealed
from runner.distributed.jobs import Job
from runner.errors import BundleError
from runner.evaluate import LogPolicy, evaluate_fold
from runner.results.store import ResultStore, store_at
from runner.run import (
    Plan,
    ResourceRequest,
    applied_limits,
    assemble_result,
    load_for_run,
    persist_fold,
    stored_fold,
)
from runner.sandbox.docker.sandbox import DockerProvider
from runner.schedule import FoldSchedule, fold_slot
from runner.verdict import Status

log = logging.getLogger("airlock.worker")


@dataclass(frozen=True)
class Outcome:
    """What a job did: ``stored`` (ran and stored), ``already-stored`` (a redelivery) or
    ``infra_error`` (the machine failed; the caller may retry). ``completed`` is the result
    location when this job finished the submission's last fold."""

    kind: str
    fold_status: str
    completed: str | None = None
    reason: str = ""


def plan_for(job: Job, provider: DockerProvider, cache: Path = DEFAULT_CACHE) -> Plan:
    """Fetch, verify and load the bundle; make sure the image is here (pulling it by digest)."""
    path = fetch_bundle(job.bundle_uri, job.bundle_hash, cache)
    sealed = fetch_sealed(job.sealed_uri, job.bundle_hash, cache)
    (bundle,) = load_for_run([path], sealed)
    if job.fold_id not in bundle.spec.folds:
        raise BundleError(f"{job.bundle_id}: no fold {job.fold_id!r}")
    image = provider.ensure_image(job.image)
    applied = applied_limits(
        bundle, ResourceRequest(memory=job.memory, cpus=job.cpus, gpus=job.gpus)
    )
    provider.check_gpus(applied.gpus)
    return Plan(bundle, applied, image, LogPolicy.of(job.sealed_mode, job.log_lines), job.team)


def execute(
    job: Job,
    provider: DockerProvider,
    *,
    store: ResultStore | None = None,
    cancel: threading.Event | None = None,
    final_attempt: bool = True,
    cache: Path = DEFAULT_CACHE,
    schedule: FoldSchedule | None = None,
) -> Outcome:
    store = store or store_at(job.results_uri)
    plan = plan_for(job, provider, cache)
    existing = stored_fold(store, plan, job.fold_id)
    if existing is not None:
        log.info("%s/%s of %s already stored: nothing to do", job.bundle_id, job.fold_id, job.image)
        return Outcome("already-stored", existing.result.status)
    fold = plan.bundle.fold(job.fold_id)
    cancel = cancel or threading.Event()
    with fold_slot(schedule or FoldSchedule.ONE_PER_SUBMISSION, plan.image.id, cancel):
        report = evaluate_fold(
            provider, plan.bundle, fold, plan.image, plan.applied,
            run_id=job.suite_id, cancel=cancel, policy=plan.policy,
        )  # fmt: skip
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
    store: ResultStore, plan: Plan, job: Job, provider: DockerProvider
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
