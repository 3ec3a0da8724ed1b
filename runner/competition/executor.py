"""The server's own worker loop: it evaluates queued submissions, one fold at a time, with
the same fold road, sandbox, schedule and fold records as ``airlock run --sealed-mode``.

Crash-safe by the same means as a run: every fold's record is stored in the result store
as it ends, and a submission is finished only when every fold has one. A server killed
mid-evaluation finds its ``running`` submissions again when it starts, reuses every fold
record of the current attempt, and runs only the folds that had none: each fold runs once,
and no submission is ever shown finished with a fold missing.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from runner.competition.config import Phase
from runner.competition.db import FoldTask, Submission, Team, now
from runner.competition.service import FAILED_BY_SUBMISSION
from runner.competition.state import ServerState
from runner.errors import AirlockError, Cancelled
from runner.evaluate import FoldReport, LogPolicy, evaluate_fold
from runner.fold_records import assemble_result, persist_fold, stored_fold
from runner.plan import BundlePlan, ResourceRequest, TimeRequest, applied_limits
from runner.probe_settings import resolve
from runner.schedule import FoldSchedule, fold_slot

log = logging.getLogger("airlock.server")


@dataclass(frozen=True)
class Claimed:
    id: str
    phase: str
    team: str
    image_ref: str
    image_id: str
    attempt: int

    @property
    def run_id(self) -> str:
        return f"{self.id}.{self.attempt}"


def recover(state: ServerState) -> None:
    """After a restart: what was running is queued again (its finished folds are reused);
    an upload cut off mid-load is gone, and given back."""
    with state.db.transaction() as session:
        session.execute(
            update(Submission).where(Submission.status == "running").values(status="queued")
        )
        session.execute(
            update(Submission)
            .where(Submission.status == "loading")
            .values(status="infra_error", counts=False, finished_at=now(),
                    note="the server stopped while loading the image; submit again")
        )  # fmt: skip
        session.execute(update(FoldTask).where(FoldTask.state == "running").values(state="pending"))


def claim(state: ServerState) -> Claimed | None:
    """The oldest queued submission, now running."""
    with state.db.transaction() as session:
        row = session.execute(
            select(Submission, Team.name)
            .join(Team)
            .where(Submission.status == "queued")
            .order_by(Submission.created_at)
            .limit(1)
        ).first()
        if row is None:
            return None
        submission, team = row
        submission.status = "running"
        submission.started_at = submission.started_at or now()
        return Claimed(submission.id, submission.phase, team, submission.image_ref,
                       submission.image_id, submission.attempt)  # fmt: skip


def plans_for(state: ServerState, claimed: Claimed) -> list[BundlePlan]:
    """One plan per bundle of the phase, under the phase's (lowered) limits, sealed."""
    assert state.provider is not None
    phase = state.phase(claimed.phase)
    assert phase is not None
    image = state.provider.describe_image(claimed.image_ref)
    if image.id != claimed.image_id:
        raise AirlockError(f"the engine's {claimed.image_ref} is not the image received")
    policy = LogPolicy(sealed=True, tail_lines=state.competition.logs.released_lines)
    probes = phase.probe_request()
    return [
        BundlePlan(
            bundle,
            _limits(bundle, phase),
            image,
            policy,
            claimed.team,
            True,
            resolve(probes, bundle.spec.probes),
            state.runtime,
        )
        for bundle in state.bundles[claimed.phase]
    ]


def _limits(bundle: Any, phase: Phase) -> Any:
    lowered = phase.limits
    return applied_limits(
        bundle,
        ResourceRequest(memory=lowered.memory, cpus=lowered.cpus),
        TimeRequest(fit=lowered.fit_seconds, predict=lowered.predict_seconds),
    )


def _fold_done(state: ServerState, claimed: Claimed, bundle_id: str, report: FoldReport) -> None:
    with state.db.transaction() as session:
        task = session.get(FoldTask, (claimed.id, bundle_id, report.result.fold_id))
        assert task is not None
        task.state, task.status = "done", str(report.result.status)
        task.summary = report.result.model_dump(mode="json")
        task.updated_at = now()


def _mark_running(state: ServerState, claimed: Claimed, bundle_id: str, fold_id: str) -> None:
    with state.db.transaction() as session:
        task = session.get(FoldTask, (claimed.id, bundle_id, fold_id))
        assert task is not None
        task.state, task.updated_at = "running", now()


def run_fold(
    state: ServerState, claimed: Claimed, plan: BundlePlan, fold_id: str, cancel: threading.Event
) -> FoldReport:
    """One fold: its record of this attempt if there is one, else run and store it."""
    assert state.provider is not None
    found = stored_fold(state.store, plan, fold_id)
    if found is not None and (found.result.reused_from or "").startswith(claimed.run_id):
        return found
    _mark_running(state, claimed, plan.bundle.spec.id, fold_id)
    with fold_slot(FoldSchedule.ONE_PER_HOST, plan.image.id, cancel):
        state.provider.forget(plan.image)
        report = evaluate_fold(state.provider, plan.job(fold_id, claimed.run_id), cancel=cancel)
    if cancel.is_set():
        raise Cancelled("server stopping")
    return persist_fold(state.store, plan, report, claimed.run_id)


def evaluate(state: ServerState, claimed: Claimed, cancel: threading.Event) -> None:
    """Every fold of the submission, then its result per bundle, then its final status."""
    statuses: list[str] = []
    for plan in plans_for(state, claimed):
        reports = []
        for fold in plan.bundle.spec.folds:
            report = run_fold(state, claimed, plan, fold, cancel)
            _fold_done(state, claimed, plan.bundle.spec.id, report)
            reports.append(report)
            statuses.append(str(report.result.status))
        assemble_result(
            state.store, plan, reports, run_id=claimed.run_id,
            engine=state.provider.engine_description() if state.provider else "", started_at=now(),
        )  # fmt: skip
    state.store.finish()
    finish(state, claimed.id, statuses)


def finish(state: ServerState, submission_id: str, statuses: list[str]) -> None:
    """Finished, with the quota given back when the machine failed every fold (or when the
    phase does not count the submission's own failures)."""
    with state.db.transaction() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        phase = state.phase(submission.phase)
        everything_infra = bool(statuses) and all(s == "infra_error" for s in statuses)
        own_failure = any(s in FAILED_BY_SUBMISSION for s in statuses)
        submission.status = "infra_error" if everything_infra else "finished"
        if everything_infra or (
            phase is not None and not phase.quota.count_failures and own_failure
        ):
            submission.counts = False
        submission.finished_at = now()


class Executor:
    """A thread that evaluates queued submissions until the server stops."""

    def __init__(self, state: ServerState, poll_seconds: float = 0.5) -> None:
        self.state = state
        self.poll_seconds = poll_seconds
        self.cancel = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="airlock-executor", daemon=True)

    def start(self) -> None:
        recover(self.state)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.cancel.set()
        self.state.wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self.cancel.is_set():
            claimed = claim(self.state)
            if claimed is None:
                self.state.wake.wait(self.poll_seconds)
                self.state.wake.clear()
                continue
            try:
                evaluate(self.state, claimed, self.cancel)
                log.info("submission %s evaluated", claimed.id)
            except Cancelled:
                return  # queued again by recover() at the next start
            except AirlockError as exc:
                log.error("submission %s: %s", claimed.id, exc)
                _give_up(self.state, claimed.id, str(exc))
            except Exception:  # a defect: keep serving, never lose the submission silently
                log.exception("submission %s: internal error", claimed.id)
                _give_up(self.state, claimed.id, "internal error in the server")


def _give_up(state: ServerState, submission_id: str, reason: str) -> None:
    with state.db.transaction() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.status, submission.counts = "infra_error", False
        submission.note, submission.finished_at = reason[:500], now()
