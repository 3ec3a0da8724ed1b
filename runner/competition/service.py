"""What the API does, without HTTP: accept a submission (phase open, quota, image), list and
show a team's own submissions, and the organizer's actions. Every function takes the team
asking and never returns another team's objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from runner.competition import quotas
from runner.competition.db import FoldTask, PhaseState, Submission, Team, now
from runner.competition.images import SUBMISSION_REPOSITORY, Archive
from runner.competition.state import ServerState
from runner.errors import InfraError, Refused

FAILED_BY_SUBMISSION = ("timeout", "oom", "crashed", "protocol_error", "invalid_predictions")


class NotFound(Refused):
    """No such object for this caller (another team's objects are not found either)."""


class PhaseClosed(Refused):
    """The phase does not accept submissions now (HTTP 409)."""


class QuotaExceeded(Refused):
    """The team's quota is used up (HTTP 429 with Retry-After)."""

    def __init__(self, refusal: quotas.Refusal) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


def _phase_for(state: ServerState, name: str | None, moment: datetime) -> str:
    if name is not None:
        phase = state.phase(name)
        if phase is None:
            raise NotFound(f"no phase {name!r}")
    else:
        phase = state.competition.current_phase(moment)
        if phase is None:
            raise PhaseClosed("no phase is open now; see GET /api/v1/phases")
    if not phase.is_open(moment):
        raise PhaseClosed(
            f"phase {phase.name!r} is open from {phase.opens:%Y-%m-%d %H:%M} to "
            f"{phase.closes:%Y-%m-%d %H:%M} UTC"
        )
    return phase.name


def reserve(state: ServerState, team: Team, phase_name: str | None, archive: Archive) -> str:
    """Decide and record a submission in one transaction (phase, quota); returns its id.

    It starts as ``loading``: counted in flight, not yet runnable.
    """
    moment = now()
    name = _phase_for(state, phase_name, moment)
    phase = state.phase(name)
    assert phase is not None
    submission_id = uuid.uuid4().hex[:16]
    with state.db.transaction() as session:
        owner = session.get(Team, team.id)
        assert owner is not None
        refusal = quotas.check(session, owner, phase, moment)
        if refusal is not None:
            raise QuotaExceeded(refusal)
        session.add(
            Submission(
                id=submission_id, team_id=team.id, phase=name, image_id=archive.image_id,
                image_ref=f"{SUBMISSION_REPOSITORY}/{submission_id}:latest",
                archive_bytes=archive.size, status="loading", created_at=moment, counts=True,
                disqualified=False, logs_released=False, attempt=0, note="",
            )
        )  # fmt: skip
        session.flush()  # the submission's row first: its folds refer to it
        for bundle_id, fold_id in state.folds_of(name):
            session.add(
                FoldTask(submission_id=submission_id, bundle_id=bundle_id, fold_id=fold_id,
                         state="pending", updated_at=moment)
            )  # fmt: skip
    return submission_id


def load(state: ServerState, submission_id: str, archive: Path) -> None:
    """Load the checked archive into the engine under the submission's own tag; the
    submission is then queued (or, if the engine failed, ends infra_error, not counted)."""
    with state.db.transaction() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        ref, expected = submission.image_ref, submission.image_id
    try:
        if state.provider is None:
            raise InfraError("this server has no engine to load images into")
        loaded = state.provider.load_image(archive, ref)
        if loaded.id != expected:
            raise InfraError(
                f"the engine loaded {loaded.id[:19]}, the archive named {expected[:19]}"
            )
        status, note = "queued", ""
    except InfraError as exc:
        status, note = "infra_error", f"the image could not be loaded: {exc}"
    with state.db.transaction() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        submission.status, submission.note = status, note
        if status == "infra_error":
            submission.counts = False
            submission.finished_at = now()
    state.wake.set()


def own(session: Session, team: Team, submission_id: str) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None or submission.team_id != team.id:
        raise NotFound(f"no submission {submission_id!r}")
    return submission


def revealed(state: ServerState, phase: str) -> bool:
    with state.db.read() as session:
        row = session.get(PhaseState, phase)
        return row is not None and row.revealed_at is not None


def scores_visible(state: ServerState, phase: str) -> bool:
    """Whether the phase's leaderboard shows scores (exact or, under a Ladder, public)."""
    spec = state.phase(phase)
    return spec is not None and (spec.scores == "public" or revealed(state, phase))


def exact_scores_visible(state: ServerState, phase: str) -> bool:
    """Whether a team sees its own submissions' exact scores: never under a Ladder before
    the reveal, else the exact scores would be the oracle the Ladder closes."""
    spec = state.phase(phase)
    if spec is None or not scores_visible(state, phase):
        return False
    return spec.ladder is None or revealed(state, phase)


@dataclass(frozen=True)
class FoldView:
    bundle_id: str
    fold_id: str
    state: str
    status: str | None
    result: dict[str, Any] | None


def submission_view(
    state: ServerState, submission: Submission, folds: list[FoldTask]
) -> dict[str, Any]:
    """What the team sees: statuses and public reasons always; scores only where the phase
    shows them; stderr lines only when the organizer released them. Times to the minute."""
    show = exact_scores_visible(state, submission.phase)
    views = []
    for fold in sorted(folds, key=lambda f: (f.bundle_id, f.fold_id)):
        summary = dict(fold.summary or {})
        if not show:
            # robustness carries the clean score and each probe's metric: scores too.
            for key in ("metrics", "details", "statistics", "metric_notes", "robustness"):
                summary.pop(key, None)
        if not submission.logs_released:
            summary["log_tail"] = []
        views.append(
            {"bundle": fold.bundle_id, "fold": fold.fold_id, "state": fold.state,
             "status": fold.status, "result": summary or None}
        )  # fmt: skip
    return {
        "id": submission.id,
        "phase": submission.phase,
        "status": submission.status,
        "image_id": submission.image_id,
        "created_at": _minute(submission.created_at),
        "finished_at": _minute(submission.finished_at),
        "counts_against_quota": submission.counts,
        "disqualified": submission.disqualified,
        "logs_released": submission.logs_released,
        "scores_visible": show,
        "note": submission.note,
        "folds": views,
    }


def _minute(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(second=0, microsecond=0).isoformat()


def list_own(state: ServerState, team: Team) -> list[dict[str, Any]]:
    with state.db.read() as session:
        rows = session.scalars(
            select(Submission).where(Submission.team_id == team.id).order_by(Submission.created_at)
        ).all()
        return [
            {"id": s.id, "phase": s.phase, "status": s.status,
             "created_at": _minute(s.created_at), "finished_at": _minute(s.finished_at)}
            for s in rows
        ]  # fmt: skip


def show_own(state: ServerState, team: Team, submission_id: str) -> dict[str, Any]:
    with state.db.read() as session:
        submission = own(session, team, submission_id)
        folds = list(
            session.scalars(select(FoldTask).where(FoldTask.submission_id == submission.id))
        )
    return submission_view(state, submission, folds)


# --- the organizer's actions ------------------------------------------------------------------


def _submission(session: Session, submission_id: str) -> Submission:
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"no submission {submission_id!r}")
    return submission


def rerun(state: ServerState, submission_id: str) -> None:
    """Run every fold again (a new attempt: earlier fold records are not reused)."""
    with state.db.transaction() as session:
        submission = _submission(session, submission_id)
        submission.attempt += 1
        submission.status, submission.finished_at, submission.note = "queued", None, ""
        for fold in session.scalars(
            select(FoldTask).where(FoldTask.submission_id == submission_id)
        ):
            fold.state, fold.status, fold.summary, fold.updated_at = "pending", None, None, now()


def disqualify(state: ServerState, submission_id: str) -> None:
    with state.db.transaction() as session:
        _submission(session, submission_id).disqualified = True


def release_logs(state: ServerState, submission_id: str) -> None:
    with state.db.transaction() as session:
        _submission(session, submission_id).logs_released = True


def reveal(state: ServerState, phase: str) -> None:
    if state.phase(phase) is None:
        raise NotFound(f"no phase {phase!r}")
    with state.db.transaction() as session:
        row = session.get(PhaseState, phase)
        assert row is not None
        row.revealed_at = row.revealed_at or now()


def list_all(state: ServerState) -> list[dict[str, Any]]:
    with state.db.read() as session:
        rows = session.execute(
            select(Submission, Team.name).join(Team).order_by(Submission.created_at)
        ).all()
        return [
            {"id": s.id, "team": name, "phase": s.phase, "status": s.status, "image_id": s.image_id,
             "created_at": s.created_at.isoformat(), "counts": s.counts,
             "disqualified": s.disqualified, "attempt": s.attempt, "note": s.note}
            for s, name in rows
        ]  # fmt: skip


def forget_failed_upload(state: ServerState, submission_id: str) -> None:
    """A reserved submission whose archive never arrived whole: remove it entirely."""
    with state.db.transaction() as session:
        session.execute(delete(FoldTask).where(FoldTask.submission_id == submission_id))
        session.execute(delete(Submission).where(Submission.id == submission_id))
