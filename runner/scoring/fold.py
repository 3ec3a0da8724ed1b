"""Scoring one fold: align sealed truth with checked predictions, compute the metrics."""

from __future__ import annotations

import numpy as np

from runner.bundle.labels import Labels
from runner.bundle.spec import BundleSpec, TaskType
from runner.predictions import PredictionSet
from runner.scoring.metrics import Scores, Target, compute


def score_fold(spec: BundleSpec, truth: Labels, predictions: PredictionSet) -> Scores:
    """The bundle's metrics for one fold. Truth rows are matched to predictions by id."""
    position = {sample_id: n for n, sample_id in enumerate(truth.ids)}
    order = np.array([position[sample_id] for sample_id in predictions.ids], dtype=np.int64)
    values = truth.values[order]
    if spec.task_type is TaskType.BINARY:
        positive = spec.classes.index(spec.positive_class or "")
        values = (values == positive).astype(np.int8)
    target = Target(
        truth=values,
        hard=predictions.hard,
        score=predictions.score,
        n_outputs=len(spec.outputs),
    )
    return compute(spec.metrics.all, target)
