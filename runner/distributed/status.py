"""`airlock status`: what the pool is doing (queues, workers) and what it has done (store)."""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from runner.distributed.jobs import QUEUES
from runner.results.store import ResultStore
from runner.resume import FoldRecord


@dataclass
class PoolStatus:
    queues: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)
    running: dict[str, list[str]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)


def pool_status(app: Celery, store: ResultStore | None, timeout: float = 1.5) -> PoolStatus:
    status = PoolStatus()
    with app.connection_for_read() as connection:
        for queue in QUEUES:
            channel = connection.channel()
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
            except connection.channel_errors:
                status.queues[queue] = status.consumers[queue] = 0  # never declared: empty
                continue
            finally:
                with contextlib.suppress(*connection.channel_errors, *connection.connection_errors):
                    channel.close()
            status.queues[queue] = int(declared.message_count)
            status.consumers[queue] = int(declared.consumer_count)
    active: dict[str, list[dict[str, Any]]] = app.control.inspect(timeout=timeout).active() or {}
    for worker, tasks in sorted(active.items()):
        status.running[worker] = [_describe(task) for task in tasks]
    if store is not None:
        for raw in store.fold_records():
            status.statuses[str(FoldRecord.model_validate_json(raw).result.status)] += 1
    return status


def _describe(task: dict[str, Any]) -> str:
    args = task.get("args") or [{}]
    job = args[0] if args and isinstance(args[0], dict) else {}
    return f"{job.get('bundle_id', '?')}/{job.get('fold_id', '?')} ({job.get('image', '?')})"
