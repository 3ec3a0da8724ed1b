"""Handing a competition's folds to the existing worker pool (``airlock serve --broker``).

A queued submission's image is pushed to the registry under its own repository (so no
other submission's push can replace it) and one job per fold is published, exactly as
``airlock enqueue`` does; the workers' exactly-once fold records in the shared result store
stay the source of truth. The server only watches the store: a fold is done when its record
is there, a submission finished when every fold's is.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from runner.competition.db import FoldTask, Submission, Team, now
from runner.competition.executor import claim, finish, recover
from runner.competition.state import ServerState
from runner.errors import AirlockError
from runner.results.store import result_key
from runner.resume import FoldRecord, record_name

log = logging.getLogger("airlock.server")


def hand_over(state: ServerState, submission_id: str) -> None:
    """Push the submission's image and publish its jobs."""
    from runner.distributed.enqueue import Checked, build_jobs, enqueue
    from runner.distributed.tasks import make_app

    assert state.provider is not None
    assert state.registry is not None
    with state.db.transaction() as session:
        submission, team = session.execute(
            select(Submission, Team.name).join(Team).where(Submission.id == submission_id)
        ).one()
        phase, image_id = submission.phase, submission.image_id
    digest = state.provider.push_image(
        image_id, f"{state.registry}/airlock-submission/{submission_id}"
    )
    checked = [Checked(bundle, bundle.sealed_dir) for bundle in state.bundles[phase]]
    jobs = build_jobs(
        image_digest=digest, checked=checked, results_uri=state.competition.results,
        team=team, queue="cpu", image_id=image_id, sealed_mode=True,
    )  # fmt: skip
    enqueue(make_app(state.broker), jobs)


def collect(state: ServerState) -> None:
    """Mark the folds whose records have arrived; finish the submissions that are whole."""
    with state.db.transaction() as session:
        rows = session.execute(
            select(Submission.id, Submission.phase, Submission.image_id, Team.name)
            .join(Team)
            .where(Submission.status == "running")
        ).all()
    for submission_id, phase, image_id, team in rows:
        hashes = {b.spec.id: b.hash for b in state.bundles[phase]}
        statuses = []
        with state.db.transaction() as session:
            tasks = list(
                session.scalars(select(FoldTask).where(FoldTask.submission_id == submission_id))
            )
            for task in tasks:
                if task.state != "done":
                    key = result_key(image_id, task.bundle_id, hashes[task.bundle_id], team)
                    raw = state.store.get_artifact(key, record_name(task.fold_id))
                    if raw is None:
                        continue
                    record = FoldRecord.model_validate_json(raw)
                    task.state, task.status = "done", str(record.result.status)
                    task.summary = record.result.model_dump(mode="json")
                    task.updated_at = now()
                statuses.append(task.status or "")
        if len(statuses) == len(tasks):
            finish(state, submission_id, statuses)


class PoolExecutor:
    """Publishes queued submissions and watches the store for their folds."""

    def __init__(self, state: ServerState, poll_seconds: float = 1.0) -> None:
        self.state = state
        self.poll_seconds = poll_seconds
        self.cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="airlock-pool", daemon=True)

    def start(self) -> None:
        recover(self.state)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.cancel.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self.cancel.wait(self.poll_seconds):
            while (claimed := claim(self.state)) is not None:
                try:
                    hand_over(self.state, claimed.id)
                except AirlockError as exc:
                    log.error("submission %s: cannot hand it to the pool: %s", claimed.id, exc)
                    with self.state.db.transaction() as session:
                        submission = session.get(Submission, claimed.id)
                        assert submission is not None
                        submission.status = "queued"
                    break
            try:
                collect(self.state)
            except AirlockError as exc:
                log.error("reading the result store: %s", exc)
