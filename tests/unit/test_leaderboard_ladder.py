"""The Ladder (Blum & Hardt 2015): public scores move only by more than a step, rounded to
it; an adaptive attacker who climbs the exact public score overfits the public folds, and
the Ladder takes that away."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from runner.errors import UsageError
from runner.leaderboard import render
from runner.leaderboard.ladder import Ladder, ladder_scores, rounded
from runner.leaderboard.ranking import build_boards
from runner.results.store import LocalResultStore, result_key
from tests.helpers import run_airlock
from tests.unit.test_leaderboard_ranking import result


def test_public_score_moves_only_by_more_than_a_step_and_is_rounded() -> None:
    exact = [0.503, 0.507, 0.5141, 0.52, 0.5201, 0.5, 0.9049]
    assert ladder_scores(exact, 0.01) == [0.5, 0.5, 0.51, 0.51, 0.52, 0.52, 0.9]
    assert ladder_scores([None, 0.3, None, 0.31], 0.01) == [None, 0.3, 0.3, 0.3]
    assert rounded(0.1 + 0.2, 0.1) == 0.3
    for step in (0.0, -0.01, float("nan"), float("inf")):
        with pytest.raises(UsageError, match="--ladder"):
            Ladder(step)


def test_a_better_tier_always_changes_the_public_score() -> None:
    ladder = Ladder(0.05)
    assert ladder.submit(0.9, tier=1)  # incomplete first
    assert not ladder.submit(0.93, tier=1)
    assert ladder.submit(0.4, tier=0)  # complete beats incomplete, whatever the number
    assert (ladder.public, ladder.tier) == (0.4, 0)
    assert not ladder.submit(0.99, tier=1)


def test_laddered_board_shows_the_release_not_the_latest_or_the_best() -> None:
    results = [
        result("climber", "a", "task1", [0.70, 0.70], minutes=0),
        result("climber", "b", "task1", [0.705, 0.705], minutes=1),  # + 0.005: kept private
        result("climber", "c", "task1", [0.7249, 0.7249], minutes=2),  # + 0.025: released
        result("climber", "d", "task1", [0.73, 0.73], minutes=3),  # best, + 0.0051: not
        result("steady", "e", "task1", [0.72, 0.72], minutes=0),
    ]
    (board,) = build_boards(results, ladder=0.01)
    assert [(r.team, r.composite, r.image_id[7:8]) for r in board.rows] == [
        ("climber", 0.72, "c"),
        ("steady", 0.72, "e"),
    ]
    assert board.rows[0].submissions == 4
    assert board.rows[0].entries["task1"].folds == {}  # exact fold values stay private
    assert board.stats is None and all(r.stats is None for r in board.rows)
    assert "Ladder (step 0.01)" in board.caption
    md = render.markdown([board])
    assert "| 0.72 |" in md and "0.725" not in md and "0.73" not in md
    (first, *_) = csv.DictReader(io.StringIO(render.csv_text([board])))
    assert "0.01" in first["ladder_step"]


def attack(step: float | None, *, rounds: int = 2000, flips: int = 3, seed: int = 0) -> float:
    """Public-minus-private accuracy after an adaptive attack on the public fold set.

    A 70%-accurate model predicts 1000 public and 1000 private rows. Each submission flips
    ``flips`` random labels of its public predictions (a submission sees the ids it predicts)
    and keeps the flips when the score it is shown rose: the exact public accuracy, or the
    Ladder's public score with ``step``. The private rows are never touched."""
    rng = np.random.default_rng(seed)
    n = 1000
    truth = rng.integers(0, 2, 2 * n)
    predictions = np.where(rng.random(2 * n) < 0.7, truth, 1 - truth)
    public = np.arange(2 * n) < n
    ladder = Ladder(step) if step is not None else None

    def accuracy(guess: np.ndarray, rows: np.ndarray) -> float:
        return float((guess[rows] == truth[rows]).mean())

    def shown(guess: np.ndarray) -> float:
        exact = accuracy(guess, public)
        if ladder is None:
            return exact
        ladder.submit(exact)
        assert ladder.public is not None
        return ladder.public

    best = shown(predictions)
    for _ in range(rounds):
        candidate = predictions.copy()
        candidate[rng.choice(n, flips, replace=False)] ^= 1
        if (score := shown(candidate)) > best:
            predictions, best = candidate, score
    return accuracy(predictions, public) - accuracy(predictions, ~public)


def test_the_ladder_defeats_an_adaptive_attacker() -> None:
    start = attack(None, rounds=0)
    without = attack(None)
    with_ladder = attack(0.01)
    print(
        f"\npublic - private accuracy gap: before the attack {start:.3f}; after 2000 "
        f"adaptive submissions: {without:.3f} without the Ladder, {with_ladder:.3f} with "
        "the Ladder (step 0.01)"
    )
    assert without > start + 0.1
    assert with_ladder <= start + 0.01
    assert with_ladder < without / 4


def test_leaderboard_ladder_option(tmp_path: Path) -> None:
    store = LocalResultStore(tmp_path / "r")
    for item in [result("t", "a", "task1", [0.70, 0.70], minutes=0),
                 result("t", "b", "task1", [0.705, 0.705], minutes=1)]:  # fmt: skip
        p = item.provenance
        store.put_result(result_key(p.image_id, p.bundle_id, p.bundle_hash, p.team), item)
    out = tmp_path / "board"
    done = run_airlock("leaderboard", "--results", str(tmp_path / "r"), "--out", str(out),
                       "--ladder", "0.01")  # fmt: skip
    assert done.returncode == 0, done.stderr
    md = (out / "leaderboard.md").read_text()
    assert "Ladder (step 0.01)" in md and "| 0.70 |" in md and "0.705" not in md
    bad = run_airlock("leaderboard", "--results", str(tmp_path / "r"), "--out", str(out),
                      "--ladder", "0")  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "airlock: error: --ladder 0.0: the step must be a number above 0, e.g. 0.01"
    ]
