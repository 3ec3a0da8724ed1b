"""How sure a board is of its order: rank intervals, and ties called as ties (pure numpy).

A board averages units: the folds of one task, or, for a composite, tasks and then the folds
within each task. With 3 to 5 folds per task a point estimate cannot tell first from third,
so every figure here comes from redrawing those units:

* **Rank intervals.** Each bootstrap resample draws the board's tasks with replacement and
  then, for every drawn task, its folds with replacement; each entry's composite is
  recomputed by the board's own rule (weights, SpaceOmicsBench normalization) and the
  entries ranked, tiers first (an incomplete entry ranks below every complete one in every
  resample). Per entry: the median rank, the 95% interval and the share of resamples in
  which no entry beats it. Ties rank alike (1 + the number of entries strictly better).
* **Paired tests.** Two entries are compared on the units both scored, with the task set
  held fixed (the question is whether the gap on *this* benchmark exceeds fold noise). With
  at most :data:`EXACT_MAX_UNITS` folds the test is exact: every one of the 2^n ways of
  swapping the two entries' values fold by fold. With more, a paired bootstrap of the
  composite difference resamples the folds within each task (centred: p is the share of
  resamples at least as far from the observed difference as the observed one from zero).

Entries are rows of :class:`BoardScores` in board order; nothing here knows results or
rows, so the functions are tested against plain loops.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

EXACT_MAX_UNITS = 12
"""Up to this many folds the paired test enumerates all 2^n swaps (4096 at most)."""
CHUNK = 250
"""Resamples computed at once: bounds memory to a few tens of MB on a 200-entry board."""
LEVEL = 0.95


@dataclass(frozen=True)
class BoardScores:
    """A board as arrays. Units (folds) are grouped by task: task ``t`` owns the units
    ``starts[t]`` to ``starts[t] + sizes[t]``."""

    values: FloatArray
    """(entries, units): an entry's value on a fold, NaN where it has none."""
    sizes: IntArray
    """(tasks,): folds of each task."""
    weights: FloatArray
    """(entries, tasks): weight of each task in the entry's composite; 0 where not scored."""
    board_weights: FloatArray
    """(tasks,): the weights of a complete entry (used for pairs, on their shared tasks)."""
    reference: FloatArray
    """(tasks,): NaN where a task's score is its fold mean, else the SpaceOmicsBench random
    reference r of score = max(0, (round(mean, 4) - r) / (1 - r))."""
    tier: IntArray
    """(entries,): 0 complete, 1 incomplete, 2 nothing scored."""

    @property
    def starts(self) -> IntArray:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @property
    def task_of(self) -> IntArray:
        return np.repeat(np.arange(len(self.sizes)), self.sizes)

    @property
    def has_task(self) -> NDArray[np.bool_]:
        """(entries, tasks): the entry has a value on some fold of the task."""
        seen = np.cumsum(~np.isnan(self.values), axis=1)
        seen = np.concatenate([np.zeros((len(seen), 1), dtype=seen.dtype), seen], axis=1)
        return np.asarray(seen[:, self.starts + self.sizes] > seen[:, self.starts])

    @property
    def plain(self) -> NDArray[np.bool_]:
        """(entries,): a value on every fold, the board's weights, no normalization: the
        composite is linear in the values (the fast path)."""
        same = (self.weights == self.board_weights[None, :]).all(axis=1)
        normalizes = not np.isnan(self.reference).all()
        return np.asarray(same & ~np.isnan(self.values).any(axis=1) & (not normalizes))

    def only(self, rows: NDArray[np.bool_]) -> BoardScores:
        """The board restricted to some entries."""
        return dataclasses.replace(
            self, values=self.values[rows], weights=self.weights[rows], tier=self.tier[rows]
        )

    @property
    def tolerance(self) -> float:
        """Differences below this are float noise, not an order (ties stay ties)."""
        finite = self.values[np.isfinite(self.values)]
        return 1e-9 * max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)


@dataclass(frozen=True)
class Resamples:
    """Replicates of a board's units: slot ``k`` of replicate ``b`` is task ``task[b, k]``,
    with fold multiplicities ``counts[b, k]`` (zero outside that task's folds)."""

    task: IntArray
    counts: NDArray[np.int32]


def draws(
    scores: BoardScores, n: int, seed: int | Sequence[int], *, tasks: bool = True
) -> Iterator[Resamples]:
    """``n`` replicates in chunks: tasks drawn with replacement (``tasks``) or each task
    once, then each slot's folds drawn with replacement within its task. Seeded, and the
    same ``seed`` gives the same replicates."""
    rng = np.random.default_rng(seed)
    sizes, starts = scores.sizes, scores.starts
    n_tasks, n_units, widest = len(sizes), int(sizes.sum()), int(sizes.max(initial=0))
    for first in range(0, n, CHUNK):
        b = min(CHUNK, n - first)
        if tasks:
            task = rng.integers(0, n_tasks, size=(b, n_tasks))
        else:
            task = np.broadcast_to(np.arange(n_tasks), (b, n_tasks)).copy()
        size = sizes[task][..., None]
        fold = np.floor(rng.random((b, n_tasks, widest)) * size).astype(np.int64)
        drawn = np.arange(widest) < size
        slot = np.arange(b * n_tasks).reshape(b, n_tasks, 1) * n_units
        flat = (slot + starts[task][..., None] + fold)[drawn]
        counts = np.bincount(flat, minlength=b * n_tasks * n_units)
        yield Resamples(task, counts.reshape(b, n_tasks, n_units).astype(np.int32))


def identity(scores: BoardScores) -> Resamples:
    """The board as it is: every task once, every fold once (the point estimates)."""
    n_tasks = len(scores.sizes)
    counts = np.zeros((1, n_tasks, int(scores.sizes.sum())), dtype=np.int32)
    for t, (start, size) in enumerate(zip(scores.starts, scores.sizes, strict=True)):
        counts[0, t, start : start + size] = 1
    return Resamples(np.arange(n_tasks)[None, :], counts)


def normalized(mean: FloatArray, reference: FloatArray) -> FloatArray:
    """A task's score from its fold mean: the mean, or SpaceOmicsBench's normalization."""
    if np.isnan(reference).all():
        return mean
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.maximum(0.0, (np.round(mean, 4) - reference) / (1.0 - reference))
    scaled = np.where(reference >= 1, 0.0, scaled)
    return np.where(np.isnan(reference), mean, np.where(np.isnan(mean), np.nan, scaled))


def slot_scores(scores: BoardScores, resamples: Resamples) -> FloatArray:
    """(replicates, slots, entries): each entry's task score on each slot's drawn folds
    (NaN where it has no value on them)."""
    b, k, n_units = resamples.counts.shape
    counts = resamples.counts.reshape(b * k, n_units).astype(np.float64)
    valid = ~np.isnan(scores.values)
    sums = counts @ np.where(valid, scores.values, 0.0).T
    if valid.all():
        drawn = np.broadcast_to(counts.sum(axis=1, keepdims=True), sums.shape)
    else:
        drawn = counts @ valid.T.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(drawn > 0, sums / drawn, np.nan)
    reference = scores.reference[resamples.task].reshape(b * k, 1)
    return normalized(mean, reference).reshape(b, k, -1)


def composites(scores: BoardScores, resamples: Resamples) -> FloatArray:
    """(replicates, entries): each entry's composite, the weighted mean of its slots'
    scores by its own weights; -inf where no slot has a score of it."""
    plain = scores.plain
    found = np.empty((len(resamples.task), len(scores.tier)))
    if plain.any():
        found[:, plain] = _linear_composites(scores, resamples, plain)
    if not plain.all():
        found[:, ~plain] = _slot_composites(scores.only(~plain), resamples)
    return found


def _linear_composites(
    scores: BoardScores, resamples: Resamples, rows: NDArray[np.bool_]
) -> FloatArray:
    """Composites of entries with a value on every fold, the board's weights and no
    normalization: linear in the fold values, so one product per chunk does it."""
    weights = scores.board_weights[resamples.task]
    per_fold = np.einsum("bk,bku->bu", weights / scores.sizes[resamples.task], resamples.counts)
    total = weights.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        found = (per_fold @ scores.values[rows].T) / total
    return np.where(total > 0, found, -np.inf)


def _slot_composites(scores: BoardScores, resamples: Resamples) -> FloatArray:
    values = slot_scores(scores, resamples)
    weights = scores.weights.T[resamples.task]
    counted = np.where(np.isnan(values), 0.0, weights)
    total = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (np.where(counted > 0, values, 0.0) * counted).sum(axis=1) / total
    return np.where(total > 0, mean, -np.inf)


def ranks(composite: FloatArray, tier: IntArray, tolerance: float) -> IntArray:
    """(replicates, entries): 1 + the entries in a better tier + those of the same tier
    with a composite higher by more than ``tolerance`` (so equal entries share a rank)."""
    same = tier[:, None] == tier[None, :]
    ahead = (tier[None, :] < tier[:, None]).sum(axis=1)
    step = max(1, 2**24 // max(1, len(tier) ** 2))  # about 16 MB of comparisons at a time
    found = np.empty(composite.shape, dtype=np.int64)
    for first in range(0, len(composite), step):
        part = composite[first : first + step]
        better = part[:, None, :] > part[:, :, None] + tolerance
        found[first : first + step] = 1 + ahead[None, :] + (better & same[None]).sum(axis=2)
    return found


@dataclass(frozen=True)
class RankIntervals:
    """Each entry's rank over the resamples (arrays in board order)."""

    median: FloatArray
    low: IntArray
    high: IntArray
    share_first: FloatArray
    resamples: int
    seed: int


def rank_intervals(scores: BoardScores, resamples: int = 2000, seed: int = 0) -> RankIntervals:
    """Median rank, 95% interval and share of resamples ranked first, for every entry."""
    tolerance = scores.tolerance
    found = [
        ranks(composites(scores, chunk), scores.tier, tolerance)
        for chunk in draws(scores, resamples, seed)
    ]
    drawn = np.concatenate(found) if found else np.ones((1, len(scores.tier)), dtype=np.int64)
    tail = (1 - LEVEL) / 2
    return RankIntervals(
        median=np.median(drawn, axis=0),
        low=np.quantile(drawn, tail, axis=0, method="lower").astype(np.int64),
        high=np.quantile(drawn, 1 - tail, axis=0, method="higher").astype(np.int64),
        share_first=(drawn == 1).mean(axis=0),
        resamples=resamples,
        seed=seed,
    )


Method = Literal["sign-flip", "bootstrap"]


class PairedTests:
    """Two-sided paired tests between entries of one board, on the units both scored.

    The statistic is the difference of the two composites over their shared tasks (weighted
    as a complete entry's). Exact swap (sign-flip) test up to :data:`EXACT_MAX_UNITS` folds,
    else a centred paired bootstrap over folds within tasks (seeded).
    """

    def __init__(
        self, scores: BoardScores, resamples: int = 2000, seed: int | Sequence[int] = 0
    ) -> None:
        self.scores = scores
        self.units = int(scores.sizes.sum())
        self.method: Method = "sign-flip" if self.units <= EXACT_MAX_UNITS else "bootstrap"
        self._has = scores.has_task
        weighted = scores.board_weights > 0
        self._complete: NDArray[np.bool_] = np.asarray(
            (self._has | ~weighted[None, :]).all(axis=1) & weighted.any()
        )
        # a pair of complete entries differs by the difference of their composites; pairs
        # sharing only some tasks need each task's score (kept only when there are any)
        partial = bool((~self._complete & self._has.any(axis=1)).any())
        point = identity(scores)
        self._point = np.nan_to_num(slot_scores(scores, point)[0])
        self._point_composite = composites(scores, point)[0]
        replicates, found = [], []
        if self.method == "bootstrap":
            for chunk in draws(scores, resamples, seed, tasks=False):
                found.append(composites(scores, chunk))
                replicates += [np.nan_to_num(slot_scores(scores, chunk))] if partial else []
        empty = np.zeros((0, len(scores.sizes), len(scores.tier)))
        self._replicates = np.concatenate(replicates) if replicates else empty
        self._composites = np.concatenate(found) if found else empty[:, 0, :]

    def _pair_weights(self, a: int, others: IntArray) -> FloatArray:
        """(others, tasks): a complete entry's weights on the tasks both entries have."""
        shared = self._has[a][None, :] & self._has[others]
        weights = np.where(shared, self.scores.board_weights[None, :], 0.0)
        fallback = np.where(shared, 1.0, 0.0)  # e.g. only excluded tasks in common
        return np.where(weights.sum(axis=1, keepdims=True) > 0, weights, fallback)

    def p(self, a: int, others: Sequence[int]) -> FloatArray:
        """p of the test of entry ``a`` against each of ``others`` (NaN: nothing shared)."""
        picked = np.asarray(others, dtype=np.int64)
        if picked.size == 0:
            return np.zeros(0)
        weights = self._pair_weights(a, picked)
        if self.method == "sign-flip":
            found = [
                self._swap_p(a, picked[i : i + 64], weights[i : i + 64])
                for i in range(0, picked.size, 64)
            ]
            p = np.concatenate(found)
        else:
            p = self._bootstrap_p(a, picked, weights)
        return np.where(weights.sum(axis=1) > 0, p, np.nan)

    def _bootstrap_p(self, a: int, others: IntArray, weights: FloatArray) -> FloatArray:
        def difference(values: FloatArray, rows: IntArray) -> FloatArray:
            gap = values[..., [a]] - values[..., others[rows]]
            with np.errstate(invalid="ignore", divide="ignore"):
                found = np.einsum("...tj,jt->...j", gap, weights[rows]) / weights[rows].sum(axis=1)
            return np.asarray(found, dtype=np.float64)

        complete = self._complete[a] & self._complete[others]
        observed = self._point_composite[a] - self._point_composite[others]
        replicates = self._composites[:, [a]] - self._composites[:, others]
        if not complete.all():  # pairs sharing only some tasks: composites on those
            rows = np.flatnonzero(~complete)
            observed[rows] = difference(self._point, rows)
            replicates[:, rows] = difference(self._replicates, rows)
        tolerance = self.scores.tolerance
        beyond = np.abs(replicates - observed) >= np.abs(observed) - tolerance
        return np.asarray((1.0 + beyond.sum(axis=0)) / (1.0 + len(replicates)), dtype=np.float64)

    def _swap_p(self, a: int, others: IntArray, weights: FloatArray) -> FloatArray:
        """Exact: the statistic under every subset of folds swapped between the pair."""
        scores = self.scores
        x, y = scores.values[a][None, :], scores.values[others]
        shared = ~np.isnan(x) & ~np.isnan(y)
        x, y = np.where(shared, x, 0.0), np.where(shared, y, 0.0)
        task = np.eye(len(scores.sizes))[scores.task_of]  # (units, tasks)
        flips = np.array(list(itertools.product((0.0, 1.0), repeat=self.units)))
        moved = np.einsum("pu,ju,ut->pjt", flips, y - x, task)
        count = shared.astype(np.float64) @ task
        with np.errstate(invalid="ignore", divide="ignore"):
            mine = normalized((x @ task + moved) / count, scores.reference)
            theirs = normalized((y @ task - moved) / count, scores.reference)
            statistic = np.nansum((mine - theirs) * weights, axis=2) / weights.sum(axis=1)
        beyond = np.abs(statistic) >= np.abs(statistic[0]) - scores.tolerance
        return np.asarray(beyond.mean(axis=0), dtype=np.float64)


def groups(tier: IntArray, p: Callable[[int, list[int]], FloatArray], alpha: float) -> list[int]:
    """Group numbers (1 = top) of entries in board order.

    The first entry leads group 1. Every later entry of its tier that the test cannot
    separate from the leader (p >= ``alpha``, or nothing shared) joins it, and so does every
    entry ranked above one that joins (a group never skips a row). The next entry leads the
    next group, tested the same way against it. Groups never span tiers, and entries with
    nothing scored form one last group.
    """
    found = [0] * len(tier)
    number, start = 1, 0
    while start < len(tier):
        if tier[start] == 2:
            found[start:] = [number] * (len(tier) - start)
            break
        candidates = [j for j in range(start + 1, len(tier)) if tier[j] == tier[start]]
        values = p(start, candidates)
        tied = [j for j, value in zip(candidates, values, strict=True) if not value < alpha]
        end = max(tied, default=start)
        found[start : end + 1] = [number] * (end + 1 - start)
        number, start = number + 1, end + 1
    return found
