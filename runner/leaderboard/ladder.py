"""Probe-resistant public scores: the Ladder (Blum & Hardt, "The Ladder: A Reliable
Leaderboard for Machine Learning Competitions", ICML 2015).

A public leaderboard that shows every submission's exact score on a fixed public fold set
is an oracle: submit small changes, keep those that scored higher, and the public score
climbs while the private one does not. The Ladder answers every submission, but changes a
team's public score only when the new submission beats the team's public score by more
than ``step``, and then shows it rounded to a multiple of ``step``. A submission that does
not clear the step learns nothing, so the number of distinct answers, and with it what an
adaptive attacker can learn, stays small. The exact scores stay in the result store for
the organizer.

Scores are "higher is better" (board composites are). A team's public row is the submission
that last changed its public score; a better tier (complete over incomplete over nothing
scored) always changes it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from runner.errors import UsageError
from runner.leaderboard.model import Entry, Row

NOTHING = 3
"""The tier of a team before its first submission: worse than any."""


def check_step(step: float) -> None:
    """Refuse a step that is not a positive finite number (one line, as the CLI shows it)."""
    if not (math.isfinite(step) and step > 0):
        raise UsageError(f"--ladder {step!r}: the step must be a number above 0, e.g. 0.01")


def rounded(score: float, step: float) -> float:
    """``score`` rounded to the nearest multiple of ``step`` (float noise removed)."""
    return round(round(score / step) * step, 12)


class Ladder:
    """One team's public score under the Ladder (a tiny state machine, no I/O)."""

    def __init__(self, step: float) -> None:
        check_step(step)
        self.step = step
        self.public: float | None = None
        self.tier = NOTHING

    def submit(self, score: float | None, tier: int = 0) -> bool:
        """Take a new submission's exact score; True when it changes the public score.

        ``tier`` orders what cannot be compared by score: 0 complete, 1 incomplete,
        2 nothing scored (``score`` None)."""
        if score is None or math.isnan(score):
            tier, score = max(tier, 2), None
        climbs = (
            tier == self.tier
            and score is not None
            and self.public is not None
            and score > self.public + self.step
        )
        if not (tier < self.tier or climbs):
            return False
        self.tier = tier
        self.public = None if score is None else rounded(score, self.step)
        return True


def ladder_scores(scores: Sequence[float | None], step: float) -> list[float | None]:
    """A team's public score after each of its submissions (in submission order)."""
    ladder = Ladder(step)
    shown = []
    for score in scores:
        ladder.submit(score)
        shown.append(ladder.public)
    return shown


def _public_entry(entry: Entry, step: float) -> Entry:
    """A task's figures as the public sees them: rounded to the step, no fold values."""

    def kept(value: float | None) -> float | None:
        return None if value is None else rounded(value, step)

    return dataclasses.replace(
        entry,
        score=kept(entry.score),
        mean=kept(entry.mean),
        sd=kept(entry.sd),
        low=kept(entry.low),
        high=kept(entry.high),
        perm_p=None,
        folds={},
    )


def public_rows(rows: list[Row], step: float) -> list[Row]:
    """One row per team: the submission that last changed the team's public score, its
    composite replaced by the public score and its task figures rounded to the step."""
    by_team: dict[str, list[Row]] = {}
    for row in sorted(rows, key=lambda r: r.finished_at):
        by_team.setdefault(row.team, []).append(row)
    shown = []
    for team_rows in by_team.values():
        ladder = Ladder(step)
        released = team_rows[0]
        for row in team_rows:
            if ladder.submit(row.composite, row.tier):
                released = row
        entries = {key: _public_entry(e, step) for key, e in released.entries.items()}
        shown.append(
            dataclasses.replace(
                released,
                composite=ladder.public,
                categories={k: rounded(v, step) for k, v in released.categories.items()},
                entries=entries,
                submissions=len(team_rows),
            )
        )
    return shown
