"""Quotas, decided inside the transaction that accepts a submission.

Per phase: at most ``per_day`` counted submissions per team per UTC day, at most
``in_flight`` queued or running at once. The check and the insert are one transaction that
first locks the team's row (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: every
transaction holds the write lock from its start), so concurrent submits of one team are
decided one after the other: 20 at once against a quota of 3 accept exactly 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from runner.competition.config import Phase
from runner.competition.db import Submission, Team

IN_FLIGHT = ("loading", "queued", "running")


@dataclass(frozen=True)
class Refusal:
    """Why a submission is refused now, and when it may be tried again."""

    detail: str
    retry_after: int
    resets_at: datetime


def day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def check(session: Session, team: Team, phase: Phase, moment: datetime) -> Refusal | None:
    """Lock the team's row, then count: None when one more submission is allowed."""
    session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
    start = day_start(moment)
    counted = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.team_id == team.id,
            Submission.phase == phase.name,
            Submission.counts.is_(True),
            Submission.created_at >= start,
        )
    )
    tomorrow = start + timedelta(days=1)
    if (counted or 0) >= phase.quota.per_day:
        return Refusal(
            f"team {team.name!r} has used its {phase.quota.per_day} submissions of "
            f"{start:%Y-%m-%d} (UTC) in phase {phase.name!r}",
            max(1, int((tomorrow - moment).total_seconds())),
            tomorrow,
        )
    flying = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.team_id == team.id, Submission.status.in_(IN_FLIGHT))
    )
    if (flying or 0) >= phase.quota.in_flight:
        return Refusal(
            f"team {team.name!r} has {flying} submissions queued or running (at most "
            f"{phase.quota.in_flight} at once); wait for one to finish",
            30,
            moment + timedelta(seconds=30),
        )
    return None
