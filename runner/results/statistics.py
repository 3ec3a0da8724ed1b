"""A run's per-task statistics, computed with the same functions as `airlock score` (pure)."""

from __future__ import annotations

import math

import numpy as np

from runner.bundle.spec import BundleSpec
from runner.results.model import (
    FoldResult,
    FoldStatistics,
    GenelabSummary,
    MetricSummary,
    TaskStatistics,
)
from runner.results.robustness import bundle_robustness
from runner.scoring import genelab, spaceomics
from runner.verdict import Status

Scored = tuple[np.ndarray, np.ndarray]
"""(0/1 truth, positive-class scores) of a binary fold."""


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def fold_statistics(
    scored: Scored,
    n_bootstrap: int = genelab.DEFAULT_N_BOOTSTRAP,
    n_perm: int = genelab.DEFAULT_N_PERM,
) -> FoldStatistics | None:
    """Bootstrap CI and permutation p of the fold's AUROC (None on a single-class fold)."""
    truth, score = scored
    unit = genelab.unit_stats("fold", truth.astype(np.float64), score, n_bootstrap, n_perm)
    if unit.auroc is None or unit.perm_p is None:
        return None
    return FoldStatistics(
        auroc_ci_lower=_finite(unit.ci_lower),
        auroc_ci_upper=_finite(unit.ci_upper),
        perm_p=unit.perm_p,
        n_bootstrap_used=unit.n_bootstrap_used,
    )


def task_statistics(
    spec: BundleSpec,
    folds: list[FoldResult],
    scored: list[Scored | None],
    n_bootstrap: int = genelab.DEFAULT_N_BOOTSTRAP,
    n_perm: int = genelab.DEFAULT_N_PERM,
) -> TaskStatistics:
    """Metric summaries over ok folds; GeneLab statistics for binary GeneLab bundles (and
    bundles of no benchmark); the SpaceOmicsBench normalized score when the bundle names
    its random reference; the robustness probes' curves when the folds ran them."""
    ok = [f for f in folds if f.status is Status.OK]
    metrics = {}
    for name in spec.metrics.all:
        values = [v for f in ok if (v := f.metrics.get(name)) is not None]
        if values:
            metrics[name] = MetricSummary(
                mean=float(np.mean(values)),
                std=float(np.std(values)),
                min=float(np.min(values)),
                max=float(np.max(values)),
                n_folds=len(values),
            )
    statistics = TaskStatistics(metrics=metrics, robustness=bundle_robustness(folds))
    pairs = [
        (f, s)
        for f, s in zip(folds, scored, strict=True)
        if f.status is Status.OK and s is not None
    ]
    if pairs and (spec.benchmark is None or spec.benchmark.suite == "genelab"):
        statistics.genelab = _genelab(spec, pairs, n_bootstrap, n_perm)
    benchmark = spec.benchmark
    primary = metrics.get(spec.metrics.primary)
    if benchmark is not None and benchmark.random_reference is not None:
        statistics.random_reference = benchmark.random_reference
        if primary is not None:
            statistics.normalized_score = spaceomics.normalized_score(
                primary.mean, benchmark.random_reference
            )
    return statistics


def _genelab(
    spec: BundleSpec, pairs: list[tuple[FoldResult, Scored]], n_bootstrap: int, n_perm: int
) -> GenelabSummary:
    units = []
    for fold, (truth, score) in pairs:
        stats = fold.statistics
        units.append(
            genelab.UnitStats(
                name=fold.fold_id,
                n_test=truth.size,
                n_flight=int(truth.sum()),
                n_ground=int(truth.size - truth.sum()),
                auroc=genelab.auroc(truth, score) if stats is not None else None,
                ci_lower=stats.auroc_ci_lower if stats else None,
                ci_upper=stats.auroc_ci_upper if stats else None,
                perm_p=stats.perm_p if stats else None,
            )
        )
    summary = genelab.summarize(
        units,
        np.concatenate([t for _, (t, _) in pairs]).astype(np.float64),
        np.concatenate([s for _, (_, s) in pairs]),
        n_bootstrap,
    )
    uppers = [u.ci_upper for u in units if u.auroc is not None and u.ci_upper is not None]
    benchmark = spec.benchmark
    is_genelab_a = (
        benchmark is not None and benchmark.suite == "genelab" and not benchmark.category_b
    )
    return GenelabSummary(
        mean_auroc=summary.mean_auroc,
        std_auroc=summary.std_auroc,
        mean_ci_lower=_finite(summary.mean_ci_lower),
        mean_ci_upper=_finite(float(np.mean(uppers))) if uppers else None,
        overall_auroc_pooled=summary.overall_auroc_pooled,
        overall_ci_lower=_finite(summary.overall_ci_lower),
        overall_ci_upper=_finite(summary.overall_ci_upper),
        mean_perm_p=summary.mean_perm_p,
        go_nogo=summary.go_nogo if is_genelab_a else None,
        transfer_pattern=genelab.transfer_pattern(units)
        if benchmark is not None and benchmark.category_b
        else None,
        n_bootstrap=n_bootstrap,
        n_perm=n_perm,
    )
