"""AUROC for many replicates at once (bootstrap resamples, label permutations).

Every replicate is a re-weighting of the same scored samples, so the scores are ranked
once and each replicate only contributes counts per distinct score value. The
Mann-Whitney statistic of replicate r is

    U_r = sum_v  pos_r[v] * (neg_r[values below v] + neg_r[v] / 2)

with integer counts, so U_r is exact in float64 and AUROC_r = U_r / (n_pos_r * n_neg_r)
is the correctly rounded ratio (ties count one half, like scikit-learn's trapezoid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankedScores:
    """Scores reduced to the index of their distinct value (0 = lowest)."""

    value_index: np.ndarray
    n_values: int

    @classmethod
    def of(cls, scores: np.ndarray) -> RankedScores:
        distinct, inverse = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
        return cls(inverse.reshape(-1), len(distinct))


def _counts(
    rows: np.ndarray, values: np.ndarray, weights: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    flat = (rows * shape[1] + values).ravel()
    return np.bincount(flat, weights=weights.ravel(), minlength=shape[0] * shape[1]).reshape(shape)


def auroc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """AUROC per row of (replicates, distinct values) count matrices; NaN where undefined."""
    below = np.cumsum(negatives, axis=1) - negatives
    u = np.sum(positives * (below + 0.5 * negatives), axis=1)
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, u / np.where(pairs > 0, pairs, 1), np.nan)


def auroc_of_resamples(labels: np.ndarray, ranked: RankedScores, samples: np.ndarray) -> np.ndarray:
    """AUROC of each resample; ``samples`` is (replicates, size) of row indices."""
    replicates = samples.shape[0]
    rows = np.repeat(np.arange(replicates), samples.shape[1]).reshape(samples.shape)
    values = ranked.value_index[samples]
    positive = labels[samples].astype(np.float64)
    shape = (replicates, ranked.n_values)
    return auroc_from_counts(
        _counts(rows, values, positive, shape), _counts(rows, values, 1.0 - positive, shape)
    )


def auroc_of_labelings(labelings: np.ndarray, ranked: RankedScores) -> np.ndarray:
    """AUROC of each row of ``labelings`` (replicates, n) against the same scores."""
    replicates, n = labelings.shape
    rows = np.repeat(np.arange(replicates), n).reshape(labelings.shape)
    values = np.broadcast_to(ranked.value_index, labelings.shape)
    positive = labelings.astype(np.float64)
    shape = (replicates, ranked.n_values)
    return auroc_from_counts(
        _counts(rows, values, positive, shape), _counts(rows, values, 1.0 - positive, shape)
    )
