"""A board's rank intervals, groups and significance map, from its rows' per-fold scores.

The bridge between rows (:mod:`runner.leaderboard.model`) and the arrays the statistics
work on (:mod:`runner.leaderboard.uncertainty`): which folds a task has, each entry's value
on each, and the weight of each task in an entry's composite by the board's own rule.
"""

from __future__ import annotations

import math

import numpy as np

from runner.leaderboard.model import Board, BoardStats, Resampling, Row, RowStats
from runner.leaderboard.uncertainty import BoardScores, PairedTests, groups, rank_intervals
from runner.scoring import spaceomics


def task_weights(suite: str, labels: list[str], present: list[bool]) -> list[float]:
    """The weight of each task in a composite over the ``present`` ones, by the board's
    rule: equal for most boards; for SpaceOmicsBench, each category present weighs the same
    and splits it among its tasks (E2, E3 and tasks of no category weigh nothing, unless
    nothing else is present: then the plain mean, as the ranking does)."""
    weights = [1.0 if here else 0.0 for here in present]
    if suite != "spaceomicsbench":
        return weights
    members: dict[str, list[int]] = {}
    for i, (label, here) in enumerate(zip(labels, present, strict=True)):
        for category, tasks in spaceomics.CATEGORIES.items():
            if here and label in tasks and label not in spaceomics.EXCLUDED_FROM_COMPOSITE:
                members.setdefault(category, []).append(i)
    if not members:
        return weights
    shaped = [0.0] * len(labels)
    for indices in members.values():
        for i in indices:
            shaped[i] = 1.0 / (len(members) * len(indices))
    return shaped


def _scored(row: Row, bundle_id: str) -> bool:
    entry = row.entries.get(bundle_id)
    return entry is not None and entry.status == "scored" and entry.score is not None


def board_scores(board: Board) -> BoardScores:
    """The board's rows as arrays, in board order; tasks nobody scored are left out."""
    rows = board.rows
    tasks = [(b, label) for b, label, _ in board.tasks if any(_scored(r, b) for r in rows)]
    folds = [
        sorted({f for r in rows if _scored(r, b) for f in r.entries[b].folds}) for b, _ in tasks
    ]
    values = np.full((len(rows), sum(len(f) for f in folds)), np.nan)
    reference = np.full(len(tasks), np.nan)
    column = 0
    for t, ((bundle_id, _), names) in enumerate(zip(tasks, folds, strict=True)):
        for e, row in enumerate(rows):
            if _scored(row, bundle_id):
                entry = row.entries[bundle_id]
                values[e, column : column + len(names)] = [
                    entry.folds.get(f, np.nan) for f in names
                ]
                if entry.reference is not None:
                    reference[t] = entry.reference
        column += len(names)
    labels = [label for _, label in tasks]
    weights = [
        task_weights(board.suite, labels, [_scored(row, b) for b, _ in tasks]) for row in rows
    ]
    return BoardScores(
        values=values,
        sizes=np.array([len(f) for f in folds], dtype=np.int64),
        weights=np.array(weights, dtype=np.float64).reshape(len(rows), len(tasks)),
        board_weights=np.array(task_weights(board.suite, labels, [True] * len(tasks))),
        reference=reference,
        tier=np.array([row.tier for row in rows], dtype=np.int64),
    )


def _shown(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def annotate(board: Board, resampling: Resampling) -> None:
    """Attach rank intervals, groups, p vs the leader and the significance map to ``board``
    (nothing when no row has a score)."""
    scores = board_scores(board)
    if not scores.sizes.sum():
        return
    intervals = rank_intervals(scores, resampling.resamples, resampling.seed)
    tests = PairedTests(scores, resampling.resamples, (resampling.seed, 1))
    count = len(board.rows)
    leader = tests.p(0, list(range(1, count))) if scores.tier[0] < 2 else np.full(count - 1, np.nan)
    group = groups(scores.tier, tests.p, resampling.alpha)
    for i, row in enumerate(board.rows):
        row.stats = RowStats(
            median_rank=float(intervals.median[i]),
            rank_low=int(intervals.low[i]),
            rank_high=int(intervals.high[i]),
            share_first=float(intervals.share_first[i]),
            group=group[i],
            p_vs_leader=_shown(leader[i - 1]) if i else None,
        )
    shown = [i for i in range(min(count, resampling.map_rows)) if scores.tier[i] < 2]
    matrix: list[list[float | None]] = []
    for i in shown:
        found = tests.p(i, shown)
        matrix.append([None if j == i else _shown(found[k]) for k, j in enumerate(shown)])
    board.stats = BoardStats(
        resampling=resampling,
        method=tests.method,
        units=tests.units,
        map_teams=[board.rows[i].team for i in shown],
        map_p=matrix,
    )
