"""The Celery side: the app (RabbitMQ broker, durable queues ``cpu`` and ``gpu``) and the one
task. Messages are acknowledged late, after the fold record is stored; a worker that dies
mid-fold leaves its message unacknowledged, so the broker gives it to another worker.

No job is dropped: a job the worker cannot run (bundle or sealed labels missing or not
matching, image not pullable, a message that is not a job, an infrastructure failure that
outlived its retries) is stored as an ``infra_error`` fold record with its reason
(:func:`handle`), and the worker logs one line for it.

The broker URL comes from ``AIRLOCK_BROKER_URL`` (default ``amqp://guest:guest@127.0.0.1:5672//``).
RabbitMQ closes a channel whose delivery stays unacknowledged past ``consumer_timeout``
(30 minutes by default) and redelivers the message: set it above the longest fold
(handshake + fit + predict limits), see docs/organizers.md.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from celery.exceptions import Reject
from kombu.entity import Queue
from pydantic import ValidationError

from runner.distributed.bundles import DEFAULT_CACHE
from runner.distributed.jobs import CPU, GPU, TASK_NAME, Job
from runner.errors import (
    AirlockError,
    BundleError,
    Cancelled,
    ImageUnavailable,
    InfraError,
    StoreError,
    UsageError,
)
from runner.schedule import FoldSchedule

if TYPE_CHECKING:
    from runner.distributed.execute import JobRef
    from runner.sandbox.base import SandboxProvider

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
INFRA_RETRIES = 3
"""How often an infrastructure failure is retried before the fold is stored as infra_error."""

log = logging.getLogger("airlock.worker")


@dataclass
class WorkerContext:
    """How one worker process runs jobs, set by ``airlock worker`` (never read from the
    environment): the Docker provider (made on first use), the fold schedule, where bundles
    from s3:// are cached, the leaderboard to rewrite, a cancel flag and the runtime."""

    schedule: FoldSchedule = FoldSchedule.ONE_PER_HOST
    leaderboard: Path | None = None
    cache: Path = DEFAULT_CACHE
    provider: SandboxProvider | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    runtime: str | None = None
    """The container runtime of every fold this worker runs (``--runtime``; None: the
    engine's default)."""

    def docker(self) -> SandboxProvider:
        if self.provider is None:
            from runner.sandbox.providers import provider_for

            self.provider = provider_for("docker")
        return self.provider


REAP_SECONDS = 60.0
"""How often a worker removes containers of dead runners and containers past deadline."""


def keep_reaping(context: WorkerContext, every: float = REAP_SECONDS) -> threading.Thread:
    """Reap in the background while the worker lives (a dead worker's watchdog may have died
    with it); the thread stops when the worker's cancel flag is set."""

    def loop() -> None:
        while not context.cancel.wait(every):
            try:
                removed = context.docker().reap()
            except AirlockError as exc:
                log.warning("reaping failed: %s", exc)
                continue
            if removed:
                log.info("reaped %d container(s) of dead runs or past their deadline", removed)

    thread = threading.Thread(target=loop, name="airlock-reaper", daemon=True)
    thread.start()
    return thread


def _cancel_on_shutdown(context: WorkerContext) -> None:
    """Celery's shutdown sets the cancel flag: running folds stop and remove their containers."""
    from celery import signals

    @signals.worker_shutdown.connect(weak=False)  # type: ignore[untyped-decorator]
    def _shutdown(**_kwargs: Any) -> None:
        context.cancel.set()


@dataclass(frozen=True)
class RetryLater:
    """The job hit an infrastructure failure that may pass: run it again after a backoff."""

    reason: str


def make_app(broker: str | None = None, context: WorkerContext | None = None) -> Celery:
    """The Celery app; a worker passes its context, enqueue and status need none."""
    app = Celery("airlock", broker=broker or os.environ.get("AIRLOCK_BROKER_URL", DEFAULT_BROKER))
    app.conf.update(
        task_queues=(Queue(CPU, durable=True), Queue(GPU, durable=True)),  # type: ignore[no-untyped-call]
        task_default_queue=CPU,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={"confirm_publish": True},
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=False,
    )
    context = context or WorkerContext()
    register(app, context)
    _cancel_on_shutdown(context)
    return app


def register(app: Celery, context: WorkerContext) -> None:
    @app.task(name=TASK_NAME, bind=True, max_retries=INFRA_RETRIES)  # type: ignore[untyped-decorator]
    def run_fold(self: Task, *args: Any, **kwargs: Any) -> dict[str, Any]:
        payload = args[0] if len(args) == 1 and not kwargs else {"args": args, "kwargs": kwargs}
        retries = self.request.retries or 0
        try:
            handled = handle(payload, context, final_attempt=retries >= INFRA_RETRIES)
        except Cancelled:
            raise Reject("the worker is stopping", requeue=True) from None
        if isinstance(handled, RetryLater):
            raise self.retry(exc=InfraError(handled.reason), countdown=2**retries)
        return handled


def handle(
    payload: object, context: WorkerContext, *, final_attempt: bool
) -> dict[str, Any] | RetryLater:
    """Run one message: a fold stored, a retry asked for, or the job stored as infra_error
    with its reason. Only Cancelled (the worker is stopping) escapes."""
    from runner.distributed.execute import JobRef, execute

    try:
        job = Job.model_validate(payload)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the message"
        reason = f"not a valid job message ({where}: {problem['msg']})"
        return _unrunnable(JobRef.from_payload(payload), reason, context, final_attempt)
    ref = JobRef.of(job)
    try:
        outcome = execute(
            job, context.docker(), cancel=context.cancel, final_attempt=final_attempt,
            cache=context.cache, schedule=context.schedule, runtime=context.runtime,
        )  # fmt: skip
    except Cancelled:
        raise
    except (BundleError, UsageError, ImageUnavailable) as exc:
        return _unrunnable(ref, str(exc), context, final_attempt)
    except InfraError as exc:
        if not final_attempt:
            log.warning("%s: infrastructure failure, will retry: %s", ref.describe(), exc)
            return RetryLater(str(exc))
        return _unrunnable(ref, f"{exc} (after {INFRA_RETRIES} retries)", context, final_attempt)
    except AirlockError as exc:
        return _unrunnable(ref, str(exc), context, final_attempt)
    except Exception as exc:  # a defect of the worker: keep the traceback, and the job
        log.exception("%s: unexpected error", ref.describe())
        reason = f"worker error: {type(exc).__name__}: {exc}"
        return _unrunnable(ref, reason, context, final_attempt)
    if outcome.kind == "infra_error":
        log.warning("%s: infrastructure failure, will retry: %s", ref.describe(), outcome.reason)
        return RetryLater(outcome.reason)
    if context.leaderboard is not None and outcome.completed:
        _refresh_leaderboard(job.results_uri, context.leaderboard)
    status = str(outcome.fold_status)
    return {"kind": outcome.kind, "status": status, "completed": outcome.completed}


def _unrunnable(
    ref: JobRef | None, reason: str, context: WorkerContext, final_attempt: bool
) -> dict[str, Any] | RetryLater:
    """Store the job as an infra_error fold with ``reason``; one log line either way."""
    from runner.distributed.execute import key_image_id, one_line, store_unrunnable

    reason = one_line(reason)
    if ref is None:
        log.error("a message that is not a job was dropped (nothing says its store): %s", reason)
        return {"kind": "dropped", "status": "infra_error", "reason": reason}
    try:
        where = store_unrunnable(ref, reason, key_image_id(ref, context.provider))
    except StoreError as exc:
        if not final_attempt:
            log.warning("%s: cannot store its failure, will retry: %s", ref.describe(), exc)
            return RetryLater(str(exc))
        log.error("%s not run and its failure not stored (%s): %s", ref.describe(), exc, reason)
        return {"kind": "dropped", "status": "infra_error", "reason": reason}
    except AirlockError as exc:
        log.error("%s not run and not storable (%s): %s", ref.describe(), exc, reason)
        return {"kind": "dropped", "status": "infra_error", "reason": reason}
    if where is None:
        log.info("%s not run (%s); its fold was stored earlier: kept", ref.describe(), reason)
        return {"kind": "already-stored", "status": "infra_error", "reason": reason}
    log.error("%s not run, stored as infra_error: %s", ref.describe(), reason)
    return {"kind": "unrunnable", "status": "infra_error", "reason": reason, "stored": where}


def _refresh_leaderboard(results_uri: str, directory: Path) -> None:
    """Rewrite the leaderboard from every complete result (a failure is one log line: the
    next completed submission rewrites it again)."""
    from runner.leaderboard import render
    from runner.leaderboard.ranking import build_boards
    from runner.results.store import store_at

    try:
        render.write_all(build_boards(store_at(results_uri).results()), directory)
    except (AirlockError, OSError) as exc:
        log.error("leaderboard not refreshed in %s: %s", directory, exc)
        return
    log.info("leaderboard refreshed in %s", directory)
