"""The GeneLab benchmark's statistics (SpaceBio-Bench evaluator), reproduced exactly.

Per unit (fold or cross-mission pair): AUROC; a percentile bootstrap CI whose replicates
are drawn by a fresh ``numpy.random.default_rng(42)`` with ``integers(0, n, n)`` per
replicate, single-class replicates discarded (not redrawn); a one-sided permutation p
``(count(perm >= observed) + 1) / (N + 1)`` with a fresh ``default_rng(42)`` and
``permutation(labels)`` per replicate. Across units: means, population sd, pooled AUROC and
CI, and the GO rule (mean AUROC > 0.70, mean CI lower > 0.50, mean p < 0.05).

Upstream draws one replicate per call (``integers(0, n, n)``, ``permutation(labels)``) and
calls scikit-learn once per replicate. Here all replicates are drawn in one call
(``integers(0, n, (N, n))``, ``permuted(tile(labels), axis=1)``), which yields the same
stream because PCG64 keeps the spare 32-bit half between calls (a test pins this against
the per-call reference), and their AUROCs are computed in one batch (``batched``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from runner.scoring.batched import RankedScores, auroc_of_labelings, auroc_of_resamples

SEED = 42
DEFAULT_N_BOOTSTRAP = 2000
DEFAULT_N_PERM = 1000
THRESHOLDS = {"auroc": 0.7, "ci_lower": 0.5, "perm_p": 0.05}
LARGE_PAIR_N_TEST = 10
SINGLE_CLASS = "Only one class in test set"


@dataclass(frozen=True)
class UnitStats:
    """One fold or pair. ``auroc`` is None (with ``error``) for a single-class unit."""

    name: str
    n_test: int
    n_flight: int
    n_ground: int
    auroc: float | None
    ci_lower: float | None
    ci_upper: float | None
    perm_p: float | None
    n_bootstrap_used: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    mean_auroc: float | None
    std_auroc: float | None
    mean_ci_lower: float | None
    overall_auroc_pooled: float | None
    overall_ci_lower: float | None
    overall_ci_upper: float | None
    mean_perm_p: float | None
    go_nogo: bool
    n_scored: int
    excluded: list[str] = field(default_factory=list)


_TIE_WINDOW = 1e-9
"""Permuted AUROCs this close to the observed one are re-decided with the upstream arithmetic."""


def auroc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """AUROC of one labelled set with the upstream evaluator's floating-point arithmetic
    (scikit-learn's ROC curve and trapezoid), None when the set has a single class."""
    positive = np.asarray(labels) == 1
    if positive.all() or not positive.any():
        return None
    return trapezoid_auroc(positive, np.asarray(scores, dtype=np.float64))


def trapezoid_auroc(positive: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's ``roc_auc_score`` operation by operation (descending stable sort,
    cumulative counts at distinct thresholds, collinear points dropped, rates by division,
    trapezoid rule), so that results agree to the last bit, ties included."""
    order = np.argsort(scores, kind="mergesort")[::-1]
    sorted_scores = scores[order]
    hits = positive[order].astype(np.float64)
    thresholds = np.r_[np.where(np.diff(sorted_scores))[0], hits.size - 1]
    tps = np.cumsum(hits, dtype=np.float64)[thresholds]
    fps = 1 + thresholds - tps
    if len(fps) > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps = fps[keep], tps[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    fpr, tpr = fps / fps[-1], tps / tps[-1]
    widths = np.diff(fpr)
    return float(np.add.reduce(widths * (tpr[1:] + tpr[:-1]) / 2.0))


CHUNK_ELEMENTS = 1 << 20
"""Replicates are computed in chunks of about this many samples (replicates x n): memory
stays near 40 MB whatever the fold's size (all 2,000 at once took 1.2 GB for 10,000 test
rows). Drawing a chunk after another consumes the generator exactly as one draw of all
would, so the numbers are the same to the last bit."""


def _chunks(replicates: int, n: int) -> list[int]:
    size = max(1, CHUNK_ELEMENTS // max(n, 1))
    return [min(size, replicates - start) for start in range(0, replicates, size)]


def bootstrap_ci(
    labels: np.ndarray, scores: np.ndarray, n_bootstrap: int, seed: int = SEED
) -> tuple[float, float, int]:
    """2.5th and 97.5th percentiles of the bootstrap AUROCs, and how many were usable."""
    n = len(labels)
    if n_bootstrap == 0:
        return math.nan, math.nan, 0
    rng, ranked = np.random.default_rng(seed), RankedScores.of(scores)
    values = np.concatenate(
        [
            auroc_of_resamples(labels, ranked, rng.integers(0, n, (size, n)))
            for size in _chunks(n_bootstrap, n)
        ]
    )
    usable = values[~np.isnan(values)]
    if usable.size == 0:
        return math.nan, math.nan, 0
    return float(np.percentile(usable, 2.5)), float(np.percentile(usable, 97.5)), int(usable.size)


def permutation_p(
    labels: np.ndarray, scores: np.ndarray, observed: float, n_perm: int, seed: int = SEED
) -> float:
    """One-sided permutation p-value with the +1 pseudocount."""
    if n_perm == 0:
        return 1.0
    rng, ranked = np.random.default_rng(seed), RankedScores.of(scores)
    count = 0
    for size in _chunks(n_perm, len(labels)):
        labelings = rng.permuted(np.tile(labels, (size, 1)), axis=1)
        null = auroc_of_labelings(labelings, ranked)
        # The batch gives exact ratios; upstream compares scikit-learn's rounded values,
        # which can fall an ulp below the observed one for a labeling with the very same
        # AUROC. Those near-ties are decided with the upstream arithmetic.
        near = np.flatnonzero(np.abs(null - observed) <= _TIE_WINDOW)
        count += int(np.sum(null >= observed + _TIE_WINDOW))
        count += sum(1 for r in near if trapezoid_auroc(labelings[r] == 1, scores) >= observed)
    return float((count + 1) / (n_perm + 1))


def unit_stats(
    name: str, labels: np.ndarray, scores: np.ndarray, n_bootstrap: int, n_perm: int
) -> UnitStats:
    """All statistics of one unit; ``labels`` are 1.0 (flight) / 0.0 (ground)."""
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n_flight, n_ground = int(np.sum(labels == 1)), int(np.sum(labels == 0))
    observed = auroc(labels, scores)
    if observed is None:
        return UnitStats(
            name, len(labels), n_flight, n_ground, None, None, None, None, 0, SINGLE_CLASS
        )
    lower, upper, used = bootstrap_ci(labels, scores, n_bootstrap)
    p = permutation_p(labels, scores, observed, n_perm)
    return UnitStats(name, len(labels), n_flight, n_ground, observed, lower, upper, p, used)


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def summarize(
    units: list[UnitStats],
    pooled_labels: np.ndarray,
    pooled_scores: np.ndarray,
    n_bootstrap: int,
    pooled_n_bootstrap: int | None = None,
) -> Summary:
    """Means over units with an AUROC, pooled AUROC and CI, and the GO decision.

    ``pooled_n_bootstrap`` defaults to ``n_bootstrap``; the first upstream evaluator version
    always used 2000 for the pooled CI, which files made by it need to be reproduced.
    """
    scored = [u for u in units if u.auroc is not None]
    excluded = [u.name for u in units if u.auroc is None]
    if not scored:
        return Summary(None, None, None, None, None, None, None, False, 0, excluded)
    aurocs = [u.auroc for u in scored if u.auroc is not None]
    lowers = [u.ci_lower for u in scored if u.ci_lower is not None]
    p_values = [u.perm_p for u in scored if u.perm_p is not None]
    mean_auroc, mean_lower, mean_p = _mean(aurocs), _mean(lowers), _mean(p_values)
    pooled = auroc(pooled_labels, pooled_scores)
    pooled_lower, pooled_upper, _ = (
        bootstrap_ci(
            pooled_labels,
            pooled_scores,
            pooled_n_bootstrap if pooled_n_bootstrap is not None else n_bootstrap,
        )
        if pooled is not None
        else (None, None, 0)
    )
    go = (
        mean_auroc > THRESHOLDS["auroc"]
        and mean_lower > THRESHOLDS["ci_lower"]
        and mean_p < THRESHOLDS["perm_p"]
    )
    return Summary(
        mean_auroc=mean_auroc,
        std_auroc=float(np.std(aurocs)),
        mean_ci_lower=mean_lower,
        overall_auroc_pooled=pooled,
        overall_ci_lower=pooled_lower,
        overall_ci_upper=pooled_upper,
        mean_perm_p=mean_p,
        go_nogo=bool(go),
        n_scored=len(scored),
        excluded=excluded,
    )


def transfer_pattern(units: list[UnitStats]) -> dict[str, float | int | None]:
    """Category B summary: how many directed pairs transfer (AUROC >= 0.70, p < 0.05),
    and the same among "large" pairs (n_test >= 10)."""
    scored = [u for u in units if u.auroc is not None]
    large = [u for u in scored if u.n_test >= LARGE_PAIR_N_TEST]
    large_aurocs = [u.auroc for u in large if u.auroc is not None]
    return {
        "n_pairs": len(units),
        "n_pairs_scored": len(scored),
        "n_auroc_ge_0_70": sum(1 for u in scored if (u.auroc or 0) >= THRESHOLDS["auroc"]),
        "n_p_lt_0_05": sum(
            1 for u in scored if (u.perm_p if u.perm_p is not None else 1) < THRESHOLDS["perm_p"]
        ),
        "n_large_pairs": len(large),
        "large_pairs_mean_auroc": float(np.mean(large_aurocs)) if large_aurocs else None,
        "n_large_pairs_p_lt_0_05": sum(
            1 for u in large if (u.perm_p if u.perm_p is not None else 1) < THRESHOLDS["perm_p"]
        ),
    }
