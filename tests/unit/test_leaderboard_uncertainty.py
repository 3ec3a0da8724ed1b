"""Rank intervals and ties: the vectorised code against plain loops over the same draws,
and hand-built boards whose answer is known (identical entries tie, an entry better on
every fold by a margin wins, order and seed change nothing they should not)."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from runner.leaderboard import uncertainty as u
from runner.leaderboard.board_stats import board_scores, task_weights
from runner.leaderboard.ranking import build_boards
from runner.scoring import spaceomics
from tests.unit.test_leaderboard_ranking import result

NAN = math.nan


def board(
    values: list[list[float]],
    sizes: list[int],
    *,
    tier: list[int] | None = None,
    weights: list[list[float]] | None = None,
    reference: list[float] | None = None,
) -> u.BoardScores:
    """A board from rows of fold values (NaN: none), weights 1 where an entry has a task."""
    array = np.array(values, dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    has = np.array(
        [[not np.isnan(row[s : s + n]).all() for s, n in zip(starts, sizes, strict=True)] for row in array]
    )  # fmt: skip
    return u.BoardScores(
        values=array,
        sizes=np.array(sizes, dtype=np.int64),
        weights=np.array(weights, dtype=np.float64) if weights else has.astype(np.float64),
        board_weights=np.ones(len(sizes)),
        reference=np.array(reference if reference else [NAN] * len(sizes)),
        tier=np.array(tier if tier else [0] * len(values), dtype=np.int64),
    )


# --- brute force: the same quantities with loops --------------------------------------------


def slow_task_score(scores: u.BoardScores, e: int, t: int, counts: np.ndarray) -> float:
    start = int(scores.starts[t])
    total = drawn = 0.0
    for f in range(int(scores.sizes[t])):
        value = scores.values[e, start + f]
        if not math.isnan(value):
            total += counts[start + f] * value
            drawn += counts[start + f]
    if drawn == 0:
        return NAN
    mean = total / drawn
    r = scores.reference[t]
    if math.isnan(r):
        return mean
    return 0.0 if r >= 1 else max(0.0, (round(mean, 4) - r) / (1 - r))


def slow_composite(scores: u.BoardScores, e: int, tasks: np.ndarray, counts: np.ndarray) -> float:
    total = weight = 0.0
    for k, t in enumerate(tasks):
        value = slow_task_score(scores, e, int(t), counts[k])
        w = scores.weights[e, t]
        if not math.isnan(value) and w > 0:
            total += w * value
            weight += w
    return total / weight if weight else -math.inf


def slow_ranks(scores: u.BoardScores, composite: list[float]) -> list[int]:
    tol, tier = scores.tolerance, scores.tier
    return [
        1 + sum(1 for j in range(len(composite)) if tier[j] < tier[e] or (tier[j] == tier[e] and composite[j] > composite[e] + tol))
        for e in range(len(composite))
    ]  # fmt: skip


def all_draws(scores: u.BoardScores, n: int, seed: object, tasks: bool = True) -> u.Resamples:
    chunks = list(u.draws(scores, n, seed, tasks=tasks))  # type: ignore[arg-type]
    return u.Resamples(
        np.concatenate([c.task for c in chunks]), np.concatenate([c.counts for c in chunks])
    )


def mixed_board() -> u.BoardScores:
    """Three tasks of 3, 4 and 2 folds; one normalized (SpaceOmicsBench) task; unequal
    weights; an incomplete entry with the best scores; an entry with nothing scored."""
    rng = np.random.default_rng(11)
    values = rng.uniform(0.3, 0.9, size=(6, 9))
    values[4, 3:7] = NAN  # incomplete: task 2 missing
    values[4, :3] += 0.3
    values[5, :] = NAN
    weights = [[0.5, 0.25, 0.25]] * 4 + [[0.5, 0.0, 0.25], [0.0, 0.0, 0.0]]
    return board(
        values.tolist(), [3, 4, 2], tier=[0, 0, 0, 0, 1, 2], weights=weights,
        reference=[NAN, 0.2, NAN],
    )  # fmt: skip


def test_draws_pick_tasks_then_folds_within_each() -> None:
    scores = mixed_board()
    drawn = all_draws(scores, 600, 3)
    assert drawn.task.shape == (600, 3) and drawn.counts.shape == (600, 3, 9)
    for b in range(600):
        for k, t in enumerate(drawn.task[b]):
            start, size = int(scores.starts[t]), int(scores.sizes[t])
            row = drawn.counts[b, k]
            assert row.sum() == size  # as many folds as the task has, with replacement
            assert row[:start].sum() == row[start + size :].sum() == 0
    assert set(np.unique(drawn.task)) == {0, 1, 2}
    fixed = all_draws(scores, 50, 3, tasks=False)
    assert (fixed.task == np.arange(3)).all()


def plain_board() -> u.BoardScores:
    """No normalization, equal weights: complete entries take the linear fast path."""
    rng = np.random.default_rng(12)
    values = rng.uniform(0.5, 0.7, size=(6, 9))
    values[1] = values[0]  # a tie
    values[4, 3:7] = NAN
    values[5, :] = NAN
    return board(values.tolist(), [3, 4, 2], tier=[0, 0, 0, 0, 1, 2])


@pytest.mark.parametrize("make", [mixed_board, plain_board])
def test_rank_intervals_match_a_loop_over_the_same_draws(make: object) -> None:
    scores = make()  # type: ignore[operator]
    drawn = all_draws(scores, 400, 5)
    found = u.rank_intervals(scores, 400, 5)
    slow = np.array([
        slow_ranks(scores, [slow_composite(scores, e, drawn.task[b], drawn.counts[b]) for e in range(6)])
        for b in range(400)
    ])  # fmt: skip
    assert found.median.tolist() == np.median(slow, axis=0).tolist()
    assert found.low.tolist() == np.quantile(slow, 0.025, axis=0, method="lower").tolist()
    assert found.high.tolist() == np.quantile(slow, 0.975, axis=0, method="higher").tolist()
    assert found.share_first.tolist() == (slow == 1).mean(axis=0).tolist()
    # tiers hold in every resample: the incomplete entry never above a complete one
    assert found.low[4] == 5 and found.high[5] == 6 == found.low[5]


def test_identity_composites_are_the_board_s_composites() -> None:
    results = [
        result(team, team[0], task, values)
        for team, task, values in [
            ("ann", "t1", [0.9, 0.7, 0.8]), ("ann", "t2", [0.6, 0.65]),
            ("bob", "t1", [0.5, 0.7, 0.6]), ("bob", "t2", [0.9, 0.95]),
            ("cid", "t1", [0.5, 0.5, 0.5]),
        ]
    ]  # fmt: skip
    (shown,) = build_boards(results, resampling=None)
    scores = board_scores(shown)
    point = u.composites(scores, u.identity(scores))[0]
    assert point.tolist() == pytest.approx([row.composite for row in shown.rows])


def test_identity_composites_follow_the_spaceomicsbench_rule() -> None:
    def scored(team: str, task: str, values: list[float]) -> object:
        item = result(team, team[0], f"spaceomicsbench-v2.1-{task}@corrected", values)
        mean = float(np.mean(values))
        statistics = item.statistics.model_copy(update={
            "random_reference": 0.3, "normalized_score": spaceomics.normalized_score(mean, 0.3)
        })  # fmt: skip
        provenance = item.provenance.model_copy(update={
            "benchmark": {"suite": "spaceomicsbench", "task_id": task, "variant": "corrected"}
        })  # fmt: skip
        return item.model_copy(update={"statistics": statistics, "provenance": provenance})

    results = [
        scored(team, task, [base + 0.05 * i for i in range(3)])
        for team, base in (("ann", 0.6), ("bob", 0.5), ("cid", 0.2))
        for task in ("A1", "A2", "B1", "E2")
    ]
    (shown,) = build_boards(results, resampling=None)  # type: ignore[arg-type]
    assert shown.suite == "spaceomicsbench"
    scores = board_scores(shown)
    assert not np.isnan(scores.reference).any()
    point = u.composites(scores, u.identity(scores))[0]
    assert point.tolist() == pytest.approx([row.composite for row in shown.rows])
    assert shown.rows[-1].composite == 0.0  # below the random reference everywhere


def test_spaceomics_weights_are_category_means() -> None:
    labels = ["A1", "A2", "B1", "E2", "Z9"]
    weights = task_weights("spaceomicsbench", labels, [True] * 5)
    normalized = {"A1": 0.2, "A2": 0.4, "B1": 0.9, "E2": 1.0, "Z9": 1.0}
    composite = sum(w * normalized[t] for w, t in zip(weights, labels, strict=True))
    assert composite == pytest.approx(spaceomics.composite(normalized)["composite"])
    assert weights[3] == weights[4] == 0.0
    assert task_weights("spaceomicsbench", ["E2"], [True]) == [1.0]  # only excluded: the mean
    assert task_weights("other", labels, [True, False, True, True, True]) == [1, 0, 1, 1, 1]


def slow_swap_p(scores: u.BoardScores, a: int, j: int) -> float:
    """Every subset of shared folds swapped between a and j; two-sided, identity included."""
    shared = [
        k
        for k in range(scores.values.shape[1])
        if not math.isnan(scores.values[a, k] + scores.values[j, k])
    ]
    task_of = scores.task_of

    def statistic(swapped: set[int]) -> float:
        total = weight = 0.0
        for t in range(len(scores.sizes)):
            folds = [k for k in shared if task_of[k] == t]
            if not folds:
                continue
            mine = [scores.values[j if k in swapped else a, k] for k in folds]
            theirs = [scores.values[a if k in swapped else j, k] for k in folds]
            counts = np.ones(len(folds))
            ours = slow_mean_score(scores, t, mine, counts)
            other = slow_mean_score(scores, t, theirs, counts)
            total += scores.board_weights[t] * (ours - other)
            weight += scores.board_weights[t]
        return total / weight

    observed = statistic(set())
    flips = [statistic({k for k, on in zip(shared, mask, strict=True) if on})
             for mask in itertools.product((False, True), repeat=len(shared))]  # fmt: skip
    return sum(abs(s) >= abs(observed) - scores.tolerance for s in flips) / len(flips)


def slow_mean_score(
    scores: u.BoardScores, t: int, values: list[float], counts: np.ndarray
) -> float:
    mean = float(np.dot(values, counts) / counts.sum())
    r = scores.reference[t]
    return mean if math.isnan(r) else max(0.0, (round(mean, 4) - r) / (1 - r))


def test_sign_flip_test_matches_the_enumeration() -> None:
    scores = mixed_board()
    tests = u.PairedTests(scores, seed=1)
    assert tests.method == "sign-flip" and tests.units == 9
    for a in range(4):
        others = [j for j in range(5) if j != a]
        found = tests.p(a, others)
        assert found.tolist() == pytest.approx([slow_swap_p(scores, a, j) for j in others])
    assert np.isnan(tests.p(0, [5])).all()  # nothing shared with an entry that has no score


def test_paired_bootstrap_matches_a_loop_over_the_same_draws() -> None:
    rng = np.random.default_rng(4)
    values = rng.uniform(0.4, 0.8, size=(4, 14))
    values[3, 8:] = NAN  # shares only the first task with the others
    scores = board(values.tolist(), [8, 6], tier=[0, 0, 0, 1])
    tests = u.PairedTests(scores, resamples=300, seed=(9, 1))
    assert tests.method == "bootstrap"
    drawn = all_draws(scores, 300, (9, 1), tasks=False)
    for a, j in [(0, 1), (0, 2), (1, 3), (0, 3)]:
        shared = [t for t in range(2) if scores.has_task[a, t] and scores.has_task[j, t]]

        def gap(counts: np.ndarray, a: int = a, j: int = j, shared: list[int] = shared) -> float:
            return sum(
                slow_task_score(scores, a, t, counts[t]) - slow_task_score(scores, j, t, counts[t])
                for t in shared
            ) / len(shared)

        observed = gap(u.identity(scores).counts[0])
        beyond = sum(
            abs(gap(drawn.counts[b]) - observed) >= abs(observed) - scores.tolerance
            for b in range(300)
        )
        assert tests.p(a, [j])[0] == pytest.approx((1 + beyond) / 301)


def test_identical_entries_tie() -> None:
    row = [0.7, 0.8, 0.75, 0.9, 0.6, 0.72, 0.81, 0.66]
    for sizes in ([8], [4, 4], [8, 6]):
        values = [(row * 2)[: sum(sizes)]] * 3
        scores = board(values, sizes)
        tests = u.PairedTests(scores, resamples=500)
        assert tests.p(0, [1, 2]).tolist() == [1.0, 1.0]
        intervals = u.rank_intervals(scores, 500)
        assert intervals.median.tolist() == [1, 1, 1]
        assert intervals.share_first.tolist() == [1, 1, 1]  # ties share first place
        assert u.groups(scores.tier, tests.p, 0.05) == [1, 1, 1]


def test_better_on_every_fold_by_a_margin_wins_when_there_are_enough_folds() -> None:
    rng = np.random.default_rng(2)
    for folds, method, expected in [(10, "sign-flip", 2 / 1024), (20, "bootstrap", 1 / 2001)]:
        base = rng.uniform(0.5, 0.7, folds)
        scores = board([list(base + 0.05), list(base)], [folds])
        tests = u.PairedTests(scores)
        assert tests.method == method
        assert tests.p(0, [1])[0] == pytest.approx(expected)
        assert u.groups(scores.tier, tests.p, 0.05) == [1, 2]
        intervals = u.rank_intervals(scores)
        assert (intervals.low.tolist(), intervals.high.tolist()) == ([1, 2], [1, 2])
        assert intervals.share_first.tolist() == [1.0, 0.0]
    # four folds can never separate two entries at 0.05: the smallest two-sided p is 2/16
    scores = board([[0.9] * 4, [0.1] * 4], [4])
    assert u.PairedTests(scores).p(0, [1])[0] == pytest.approx(0.125)
    assert u.groups(scores.tier, u.PairedTests(scores).p, 0.05) == [1, 1]


def test_group_rule_never_skips_a_row_nor_spans_tiers() -> None:
    ties = {(0, 2), (3, 4), (5, 6)}  # 0 ties 2 but not 1; 4 is incomplete like 5 and 6

    def p(a: int, others: list[int]) -> np.ndarray:
        return np.array([0.5 if (a, j) in ties else 0.001 for j in others])

    tier = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    assert u.groups(tier, p, 0.05) == [1, 1, 1, 2, 3, 4, 4, 5, 5]


def test_shuffling_entries_changes_nothing() -> None:
    scores = mixed_board()
    order = np.array([3, 0, 5, 1, 4, 2])
    shuffled = u.BoardScores(
        scores.values[order], scores.sizes, scores.weights[order], scores.board_weights,
        scores.reference, scores.tier[order],
    )  # fmt: skip
    before, after = u.rank_intervals(scores, 300, 8), u.rank_intervals(shuffled, 300, 8)
    for name in ("median", "low", "high", "share_first"):
        assert getattr(after, name).tolist() == getattr(before, name)[order].tolist()
    p_before = u.PairedTests(scores).p(0, [1, 2, 3])
    p_after = u.PairedTests(shuffled).p(1, [3, 5, 0])
    assert p_after.tolist() == pytest.approx(p_before.tolist())
    # and through the whole board: results in any order give the same rows and figures
    results = [result(f"team{i}", chr(97 + i), f"t{t}", [0.6 + 0.01 * i + 0.02 * f * (t - 1) for f in range(3)])
               for i in range(5) for t in range(3)]  # fmt: skip
    first = build_boards(results)[0]
    for seed in range(3):
        mixed = list(results)
        random.Random(seed).shuffle(mixed)
        again = build_boards(mixed)[0]
        assert [(r.team, r.stats) for r in again.rows] == [(r.team, r.stats) for r in first.rows]
        assert again.stats == first.stats


def test_seeded_and_recorded() -> None:
    rng = np.random.default_rng(5)
    scores = board(rng.uniform(0.6, 0.7, size=(5, 12)).tolist(), [4, 4, 4])
    one, two = u.rank_intervals(scores, 500, 7), u.rank_intervals(scores, 500, 7)
    for name in ("median", "low", "high", "share_first"):
        assert getattr(one, name).tolist() == getattr(two, name).tolist()
    other = u.rank_intervals(scores, 500, 8)
    assert (one.share_first != other.share_first).any()
    assert (one.resamples, one.seed) == (500, 7)
    (shown,) = build_boards([result("a", "a", "t", [0.5, 0.6]), result("b", "b", "t", [0.4, 0.7])])
    assert shown.stats is not None and shown.stats.resampling.seed == 0
    assert "2000 bootstrap resamples" in shown.caption and "(seed 0)" in shown.caption
