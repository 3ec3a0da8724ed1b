"""Scoring one fold: align sealed truth with checked predictions, compute the metrics."""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from runner.bundle.labels import Labels
from runner.bundle.spec import BundleSpec
from runner.predictions import PredictionSet
from runner.task_types import TaskType

if TYPE_CHECKING:
    from runner.scoring.metrics import Scores


@dataclass(frozen=True)
class FoldScore:
    """A fold's metrics, its non-scalar details (per-class F1 and confusion matrix,
    per-label AUROC), and (binary) the aligned truth and scores
    from which the GeneLab statistics are computed."""

    scores: Scores
    details: dict[str, Any]
    scored: tuple[np.ndarray, np.ndarray] | None


def prefetch_metrics() -> None:
    """Start loading the metrics (scikit-learn, most of a second of CPU) in a background
    thread: a run calls this as it starts, so the load overlaps its containers instead of
    delaying the first fold's score."""
    _loader()


@functools.cache
def _loader() -> threading.Thread:
    """The process's one loading thread, started on first use."""
    thread = threading.Thread(target=_load, name="airlock-prefetch", daemon=True)
    thread.start()
    return thread


def _load() -> None:
    from runner.scoring.metrics import warm_up
    from runner.scoring.spaceomics_folds import multiclass_fold  # noqa: F401

    warm_up()


def load_metrics() -> float:
    """Wait for the metrics to be loaded (starting the load if no run prefetched them); the
    seconds it took. The direct load after the join covers a process forked mid-load."""
    started = time.monotonic()
    _loader().join()
    _load()
    return time.monotonic() - started


def score_fold(spec: BundleSpec, truth: Labels, predictions: PredictionSet) -> FoldScore:
    """The bundle's metrics for one fold. Truth rows are matched to predictions by id."""
    # The metrics import scikit-learn (most of a second): imported on the first fold scored,
    # not by every process that imports the runner (``airlock pool enqueue``, workers idle).
    from runner.scoring.metrics import Target, compute
    from runner.scoring.spaceomics_folds import multiclass_fold, multilabel_fold

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
    details: dict[str, Any] = {}
    scored = None
    if spec.task_type is TaskType.MULTICLASS:
        extra = multiclass_fold(values, predictions.hard, spec.classes).values
        details = {key: extra[key] for key in ("per_class_f1", "confusion_matrix")}
    elif spec.task_type is TaskType.BINARY and predictions.score is not None:
        scored = (values, predictions.score)
    elif (
        spec.task_type is TaskType.MULTILABEL
        and predictions.proba_sent
        and predictions.score is not None
    ):
        extra = multilabel_fold(values, predictions.hard, predictions.score, spec.labels).values
        details = {"per_label_auroc": extra["per_label_auroc"]}
    return FoldScore(compute(spec.metrics.all, target), details, scored)
