"""The robustness formulas (pure): normalised metric, rAUC, score, and the bundle's curves.

For one probe kind with levels ``s_1 < ... < s_K`` (strengths), clean metric ``m_0``, the
metric ``m_k`` at level ``s_k`` and the chance level ``c`` (the clean predictions shuffled
across samples), the normalised metric is the share of the clean skill above chance that
survives, whichever way the metric points::

    r_k = clip((m_k - c) / (m_0 - c), 0, 1)        r_0 = 1 at s_0 = 0

and the rAUC is the area under ``r`` against strength (trapezoids), over the strength range::

    rAUC = 1 / s_K  x  sum_k (s_k - s_(k-1)) (r_k + r_(k-1)) / 2

1 means nothing was lost at any level; a model already at chance at the first level keeps
only the first trapezoid, ``s_1 / (2 s_K)`` (0.1 for the default dropout levels). It is
undefined when the clean metric is no better than chance (no skill to lose) or a level has
no metric. The robustness score is the mean rAUC of the scored kinds (dropout, noise,
shift); the permutation probe is a sanity check (its agreement should be 1) and not scored.
A bundle's curves are the means over its folds of each level's metric (and of the clean
metric and chance), over the folds where every level of the kind was scored.
"""

from __future__ import annotations

import numpy as np

from runner.probe_settings import SCORED_KINDS
from runner.results.model import (
    BundleRobustness,
    FoldResult,
    FoldRobustness,
    ProbeCurve,
    ProbeCurvePoint,
    ProbeLevelResult,
)
from runner.task_types import METRIC_KINDS
from runner.verdict import Status

_EPSILON = 1e-12


def normalised(value: float, clean: float, chance: float) -> float:
    """The share of the clean skill above chance that ``value`` keeps, in [0, 1]."""
    return float(min(max((value - chance) / (clean - chance), 0.0), 1.0))


def has_skill(metric: str, clean: float | None, chance: float | None) -> bool:
    """Whether the clean metric is better than chance (in the metric's direction)."""
    if clean is None or chance is None:
        return False
    higher = METRIC_KINDS[metric].higher_is_better if metric in METRIC_KINDS else True
    return clean - chance > _EPSILON if higher else chance - clean > _EPSILON


def rauc(
    metric: str,
    levels: list[float],
    values: list[float | None],
    clean: float | None,
    chance: float | None,
) -> float | None:
    """Area under the normalised metric-vs-strength curve (module docstring)."""
    if clean is None or chance is None or not levels or any(v is None for v in values):
        return None
    if not has_skill(metric, clean, chance):
        return None
    strengths = [0.0, *levels]
    kept = [1.0, *(normalised(float(v), clean, chance) for v in values if v is not None)]
    area = sum(
        (strengths[k] - strengths[k - 1]) * (kept[k] + kept[k - 1]) / 2
        for k in range(1, len(strengths))
    )
    return float(area / strengths[-1])


def score(raucs: dict[str, float | None]) -> float | None:
    """The mean rAUC of the scored kinds run; None when one of them is undefined."""
    values = [raucs[kind] for kind in SCORED_KINDS if kind in raucs]
    if not values or any(v is None for v in values):
        return None
    return float(np.mean([v for v in values if v is not None]))


def fold_raucs(
    metric: str, levels: list[ProbeLevelResult], clean: float | None, chance: float | None
) -> dict[str, float | None]:
    """The rAUC of every scored kind among ``levels``."""
    kinds = [k for k in SCORED_KINDS if any(level.probe == k for level in levels)]
    result: dict[str, float | None] = {}
    for kind in kinds:
        mine = [level for level in levels if level.probe == kind]
        values = [level.metric if level.status == "ok" else None for level in mine]
        result[kind] = rauc(metric, [level.level for level in mine], values, clean, chance)
    return result


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _curve(kind: str, folds: list[FoldResult], metric: str) -> ProbeCurve:
    """The mean curve of one kind over the folds where every level of it was scored."""
    used: list[tuple[FoldRobustness, list[ProbeLevelResult]]] = []
    failed = []
    for fold in folds:
        robustness = fold.robustness
        assert robustness is not None
        mine = [level for level in robustness.levels if level.probe == kind]
        if all(level.status == "ok" and level.metric is not None for level in mine):
            if robustness.clean is not None and robustness.chance is not None:
                used.append((robustness, mine))
        elif any(level.status != "ok" for level in mine):
            failed.append(fold.fold_id)
    clean = _mean([r.clean for r, _ in used])
    chance = _mean([r.chance for r, _ in used])
    skill = has_skill(metric, clean, chance)
    points = []
    for k, level in enumerate(used[0][1] if used else []):
        rows = [mine[k] for _, mine in used]
        value = float(np.mean([row.metric for row in rows]))
        points.append(
            ProbeCurvePoint(
                level=level.level,
                metric=value,
                kept=normalised(value, clean, chance) if skill else None,  # type: ignore[arg-type]
                agreement=_mean([row.agreement for row in rows]),
                score_correlation=_mean([row.score_correlation for row in rows]),
            )
        )
    area = None
    if kind in SCORED_KINDS and used:
        levels = [point.level for point in points]
        values: list[float | None] = [point.metric for point in points]
        area = rauc(metric, levels, values, clean, chance)
    return ProbeCurve(
        probe=kind,
        clean=clean,
        chance=chance,
        points=points,
        rauc=area,
        n_folds=len(used),
        failed_folds=failed,
    )


def bundle_robustness(folds: list[FoldResult]) -> BundleRobustness | None:
    """The bundle's curves and score from its ok folds' robustness (None without any)."""
    probed = [f for f in folds if f.status is Status.OK and f.robustness is not None]
    if not probed:
        return None
    first = probed[0].robustness
    assert first is not None
    kinds = list(dict.fromkeys(level.probe for level in first.levels))
    curves = [_curve(kind, probed, first.metric) for kind in kinds]
    with_folds = [f.robustness for f in probed if f.robustness and f.robustness.clean is not None]
    return BundleRobustness(
        seed=first.seed,
        metric=first.metric,
        clean=_mean([r.clean for r in with_folds]),
        chance=_mean([r.chance for r in with_folds]),
        curves=curves,
        score=score({curve.probe: curve.rauc for curve in curves}),
    )
