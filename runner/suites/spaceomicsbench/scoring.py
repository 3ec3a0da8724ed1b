"""Scoring checked predictions: one task's per-fold metrics and their aggregate, and the
normalized scores and composite over the tasks scored (``output`` writes them out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runner.scoring import spaceomics, spaceomics_folds
from runner.suites.spaceomicsbench.predictions import TaskPredictions
from runner.suites.spaceomicsbench.truth import TaskTruth


@dataclass
class ScoredTask:
    """One task's per-fold metrics (in fold order) and their aggregate (with ``n_folds``)."""

    truth: TaskTruth
    folds: list[spaceomics.FoldMetrics]
    aggregate: dict[str, Any]

    @property
    def primary(self) -> dict[str, Any] | None:
        """The primary metric's aggregate, None when no fold defines it."""
        value = self.aggregate.get(self.truth.primary_metric)
        return None if value is None else dict(value)


def score_task(truth: TaskTruth, predictions: TaskPredictions) -> ScoredTask:
    """Per-fold metrics and their aggregate (``output.py`` writes them in the harness layout)."""
    folds = []
    for fold, hard, score in zip(truth.folds, predictions.hard, predictions.score, strict=True):
        y = truth.y[fold.test]
        if truth.task_type == "binary":
            assert score is not None
            metrics = spaceomics_folds.binary_fold(y, score)
        elif truth.task_type == "multiclass":
            metrics = spaceomics_folds.multiclass_fold(y, hard, truth.outputs)
        else:
            metrics = spaceomics_folds.multilabel_fold(y, hard, score, truth.outputs)
        folds.append(metrics)
    return ScoredTask(truth, folds, dict(spaceomics.aggregate(folds)))


def summarize(scored: dict[str, ScoredTask]) -> dict[str, Any]:
    """Normalized scores against the published random references, categories, composite."""
    normalized = {}
    for task_id, task in scored.items():
        primary = task.primary
        if primary is not None and task_id in spaceomics.RANDOM_REFERENCE:
            normalized[task_id] = spaceomics.normalized_score(
                primary["mean"], spaceomics.RANDOM_REFERENCE[task_id]
            )
    return {
        "normalized": normalized,
        **spaceomics.composite(normalized),
        "excluded_from_composite": sorted(spaceomics.EXCLUDED_FROM_COMPOSITE),
    }
