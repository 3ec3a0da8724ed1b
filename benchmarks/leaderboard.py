"""Leaderboard uncertainty speed: rank intervals (bootstrap over tasks, then folds within
task) and everything a board shows (paired tests, groups, significance map) on a large
synthetic board, by default 200 entries x 20 tasks x 5 folds with 2,000 resamples.

    python benchmarks/leaderboard.py [--entries 200] [--tasks 20] [--folds 5] [--rounds 5]

Target: rank intervals in under 2 s. The board is made of rows and entries as the ranking
builds them (skills spread so that neighbours overlap), so the timed code is what
`airlock leaderboard` runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import numpy as np

from runner.leaderboard.board_stats import annotate, board_scores
from runner.leaderboard.model import Board, Entry, Resampling, Row
from runner.leaderboard.uncertainty import rank_intervals


def synthetic_board(entries: int, tasks: int, folds: int, seed: int = 1) -> Board:
    """Entries whose skills are 0.002 apart, with task noise of sd 0.03 and fold noise of
    sd 0.05."""
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.9, 0.9 - 0.002 * (entries - 1), entries)
    names = [(f"task{t:02d}", f"t{t:02d}") for t in range(tasks)]
    rows = []
    for e in range(entries):
        row = Row(team=f"team{e:03d}", image_ref="x", image_id="sha256:" + "0" * 64,
                  finished_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
        for bundle, label in names:
            values = np.clip(skill[e] + rng.normal(0, 0.05, folds) + rng.normal(0, 0.03), 0, 1)
            mean = float(values.mean())
            row.entries[bundle] = Entry(
                bundle_id=bundle, task=label, metric="auroc", status="scored", score=mean,
                mean=mean, sd=None, low=None, high=None,
                folds={f"f{f}": float(v) for f, v in enumerate(values)},
            )  # fmt: skip
        row.composite = float(
            np.mean([x.score for x in row.entries.values() if x.score is not None])
        )
        rows.append(row)
    rows.sort(key=lambda r: -(r.composite or 0))
    return Board("other", "bench", "", [(b, label, "auroc") for b, label in names], rows)


def timed(action: object, rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    board = synthetic_board(args.entries, args.tasks, args.folds)
    scores = board_scores(board)
    resampling = Resampling(resamples=args.resamples)
    intervals = timed(lambda: rank_intervals(scores, args.resamples, 0), args.rounds)
    everything = timed(lambda: annotate(board, resampling), args.rounds)
    groups = max(row.stats.group for row in board.rows if row.stats is not None)
    print(
        f"board: {args.entries} entries x {args.tasks} tasks x {args.folds} folds, "
        f"{args.resamples} resamples (seed 0); median of {args.rounds} rounds"
    )
    print(f"rank intervals (median rank, 95% interval, share first) {intervals:6.3f} s  (< 2 s)")
    print(f"whole board: intervals, tests vs leader, {groups} groups, map {everything:6.3f} s")
    assert board.stats is not None
    print(f"paired test used: {board.stats.method} ({board.stats.units} folds)")


if __name__ == "__main__":
    main()
