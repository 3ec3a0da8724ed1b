"""The Celery side: the app (RabbitMQ broker, durable queues ``cpu`` and ``gpu``) and the one
task. Messages are acknowledged late, after the fold record is stored; a worker that dies
mid-fold leaves its message unacknowledged, so the broker gives it to another worker.

The broker URL comes from ``AIRLOCK_BROKER_URL`` (default ``amqp://guest:guest@127.0.0.1:5672//``).
RabbitMQ closes a channel whose delivery stays unacknowledged past ``consumer_timeout``
(30 minutes by default) and redelivers the message: set it above the longest fold
(handshake + fit + predict limits), see docs/organizers.md.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, Task
from kombu.entity import Queue

from runner.distributed.jobs import CPU, GPU, TASK_NAME, Job
from runner.errors import InfraError

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
INFRA_RETRIES = 3
"""How often an infrastructure failure is retried before the fold is stored as infra_error."""

log = logging.getLogger("airlock.worker")


def make_app(broker: str | None = None) -> Celery:
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
    register(app)
    return app


class _State:
    """Per worker process: the Docker provider, the fold schedule and a cancel flag."""

    provider: Any = None
    schedule: Any = None
    cancel = threading.Event()


def register(app: Celery) -> None:
    @app.task(name=TASK_NAME, bind=True, max_retries=INFRA_RETRIES)  # type: ignore[untyped-decorator]
    def run_fold(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
        from runner.distributed.execute import execute
        from runner.sandbox.docker.sandbox import DockerProvider

        job = Job.model_validate(payload)
        if _State.provider is None:
            _State.provider = DockerProvider()
        retries = self.request.retries or 0
        try:
            outcome = execute(
                job,
                _State.provider,
                cancel=_State.cancel,
                final_attempt=retries >= INFRA_RETRIES,
                schedule=_State.schedule,
            )
        except InfraError as exc:
            if retries >= INFRA_RETRIES:
                log.error(
                    "%s/%s: infrastructure failure, giving up: %s", job.bundle_id, job.fold_id, exc
                )
                raise
            raise self.retry(exc=exc, countdown=2**retries) from exc
        if outcome.kind == "infra_error":
            raise self.retry(exc=InfraError(outcome.reason), countdown=2**retries)
        board = os.environ.get("AIRLOCK_LEADERBOARD_DIR")
        if board and outcome.completed:
            _refresh_leaderboard(job.results_uri, board)
        return {
            "kind": outcome.kind,
            "status": str(outcome.fold_status),
            "completed": outcome.completed,
        }


def _refresh_leaderboard(results_uri: str, directory: str) -> None:
    """Rewrite the leaderboard from every complete result."""
    from pathlib import Path

    from runner.leaderboard import render
    from runner.leaderboard.ranking import build_boards
    from runner.results.store import store_at

    render.write_all(build_boards(store_at(results_uri).results()), Path(directory))
    log.info("leaderboard refreshed in %s", directory)
