"""`airlock status`: what the pool is doing (queues, workers: the broker) and what it has done
(fold records by status, and every ``infra_error`` fold with its reason: the store).

The two halves are separate functions, so the store's half works, and is tested, without a
broker.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from pydantic import ValidationError

from runner.distributed.jobs import QUEUES
from runner.results.store import LocalResultStore, PublishingStore, ResultStore
from runner.resume import FoldRecord
from runner.verdict import Status


@dataclass(frozen=True)
class FailedFold:
    """A stored ``infra_error`` fold: where (the result key), which fold, and why."""

    key: str
    fold_id: str
    reason: str
    run_id: str


@dataclass
class StoreStatus:
    where: str
    statuses: Counter[str] = field(default_factory=Counter)
    infra_errors: list[FailedFold] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Keys of records that are not fold records of this Airlock version."""


@dataclass
class PoolStatus:
    queues: dict[str, int] = field(default_factory=dict)
    consumers: dict[str, int] = field(default_factory=dict)
    running: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    store: StoreStatus | None = None

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form (``airlock status --json``)."""
        store = self.store
        return {
            "queues": {
                name: {"waiting": depth, "consumers": self.consumers.get(name, 0)}
                for name, depth in self.queues.items()
            },
            "workers": {name: jobs for name, jobs in self.running.items()},
            "results": store.where if store else None,
            "folds": dict(sorted(store.statuses.items())) if store else {},
            "infra_errors": [
                {"key": f.key, "fold_id": f.fold_id, "run_id": f.run_id, "reason": f.reason}
                for f in (store.infra_errors if store else [])
            ],
            "unreadable_records": list(store.unreadable) if store else [],
        }


def pool_status(app: Celery, store: ResultStore | None, timeout: float = 1.5) -> PoolStatus:
    status = broker_status(app, timeout)
    if store is not None:
        status.store = store_status(store)
    return status


def broker_status(app: Celery, timeout: float = 1.5) -> PoolStatus:
    """Waiting jobs and consumers per queue, and what each worker runs."""
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
    return status


def store_status(store: ResultStore) -> StoreStatus:
    """Fold records by status, and the infra_error ones with their reasons."""
    found = StoreStatus(store.describe())
    for key, raw in fold_record_items(store):
        try:
            record = FoldRecord.model_validate_json(raw)
        except ValidationError:
            found.unreadable.append(key)
            continue
        result = record.result
        found.statuses[str(result.status)] += 1
        if result.status is Status.INFRA_ERROR:
            found.infra_errors.append(FailedFold(key, result.fold_id, result.reason, record.run_id))
    found.infra_errors.sort(key=lambda f: (f.key, f.fold_id))
    return found


def fold_record_items(store: ResultStore) -> list[tuple[str, bytes]]:
    """(result key, raw record) of every fold record in the store."""
    if isinstance(store, PublishingStore):
        store = store.remote
    items = getattr(store, "fold_record_items", None)
    if callable(items):  # S3ResultStore
        return list(items())
    if isinstance(store, LocalResultStore):
        store.check_layout()
        return [
            (_local_key(store.root, path), path.read_bytes())
            for path in sorted(store.root.glob("*/*/folds/*.json"))
        ]
    return [("?", raw) for raw in store.fold_records()]


def _local_key(root: Path, record: Path) -> str:
    return record.parent.parent.relative_to(root).as_posix()


def _describe(task: dict[str, Any]) -> dict[str, str]:
    args = task.get("args") or [{}]
    job = args[0] if args and isinstance(args[0], dict) else {}
    return {
        "bundle_id": str(job.get("bundle_id", "?")),
        "fold_id": str(job.get("fold_id", "?")),
        "image": str(job.get("image", "?")),
    }
