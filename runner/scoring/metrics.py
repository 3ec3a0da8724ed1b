"""Metric functions: pure numpy, no I/O, defined the way the hosted benchmarks define them.

Conventions (from the benchmarks' evaluators):
* AUROC is the Mann-Whitney probability with ties counted one half; it is undefined (None)
  when the truth has a single class. Constant scores give exactly 0.5.
* AUPRC is step-wise average precision (no interpolation); undefined without positives.
* F1 is the positive class's F1 with 0 when undefined (no predicted and no true positives).
* Macro averages run over every declared class or label, an absent one counting 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from runner.bundle.spec import TaskType


@dataclass(frozen=True)
class Target:
    """Truth and prediction for one fold, already aligned row by row.

    Binary: ``truth`` and ``hard`` are 0/1 vectors, ``score`` the positive-class probability.
    Multiclass: ``truth`` and ``hard`` are class indices, ``score`` an (n, k) matrix or None.
    Multilabel: ``truth`` and ``hard`` are (n, L) 0/1 matrices, ``score`` (n, L) or None.
    """

    truth: np.ndarray
    hard: np.ndarray
    score: np.ndarray | None
    n_outputs: int


@dataclass
class Scores:
    """Metric values (None when undefined for this fold) and why each undefined one is."""

    values: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


class Undefined(Exception):
    """The metric has no value on this fold; the message says why."""


@dataclass(frozen=True)
class MetricDef:
    name: str
    task_types: frozenset[TaskType]
    higher_is_better: bool
    needs_score: bool
    compute: Callable[[Target], float]
    description: str


def auroc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties count one half)."""
    truth = np.asarray(truth).astype(bool)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise Undefined("only one class in the test fold")
    ranks = average_ranks(np.asarray(score, dtype=np.float64))
    rank_sum = float(ranks[truth].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (like scipy's ``rankdata``)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [values.size]))
    averaged = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = averaged
    return ranks


def average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """Step-wise average precision: sum over thresholds of (R_t - R_t-1) * P_t."""
    truth = np.asarray(truth).astype(bool)
    n_pos = int(truth.sum())
    if n_pos == 0:
        raise Undefined("no positive samples in the test fold")
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    sorted_score = np.asarray(score, dtype=np.float64)[order]
    sorted_truth = truth[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_score)), sorted_truth.size - 1]
    true_pos = np.cumsum(sorted_truth)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_pos / predicted
    recall = true_pos / n_pos
    recall_step = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_step * precision))


def f1_binary(truth: np.ndarray, hard: np.ndarray) -> float:
    truth, hard = np.asarray(truth).astype(bool), np.asarray(hard).astype(bool)
    true_pos = int(np.sum(truth & hard))
    denominator = int(truth.sum() + hard.sum())
    return 0.0 if denominator == 0 else 2.0 * true_pos / denominator


def per_class_f1(truth: np.ndarray, hard: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of each class index 0..n_classes-1 (0 where undefined)."""
    return np.array([f1_binary(truth == k, hard == k) for k in range(n_classes)])


def precision_at_k(truth: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of positives among the k highest scores (k capped at the fold size)."""
    k = min(k, truth.size)
    top = np.argsort(-score)[:k]  # the harness's ordering (numpy's default sort) for ties
    return float(np.sum(truth[top]) / k)


def ndcg_at_k(truth: np.ndarray, score: np.ndarray, k: int) -> float:
    """DCG of the top k (gain 1/log2(rank + 1)) over the ideal DCG; 0 without positives."""
    k = min(k, truth.size)
    gains = truth[np.argsort(-score)[:k]].astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(truth.astype(np.float64))[::-1][:k]
    ideal_dcg = float(np.sum(ideal * discounts))
    return 0.0 if ideal_dcg == 0 else float(np.sum(gains * discounts) / ideal_dcg)


def _accuracy(t: Target) -> float:
    return float(np.mean(t.truth == t.hard))


def _macro_f1(t: Target) -> float:
    if t.truth.ndim == 2:
        return float(np.mean([f1_binary(t.truth[:, j], t.hard[:, j]) for j in range(t.n_outputs)]))
    return float(np.mean(per_class_f1(t.truth, t.hard, t.n_outputs)))


def _weighted_f1(t: Target) -> float:
    support = np.bincount(t.truth, minlength=t.n_outputs)
    return float(np.sum(per_class_f1(t.truth, t.hard, t.n_outputs) * support) / support.sum())


def _micro_f1(t: Target) -> float:
    return f1_binary(t.truth.ravel(), t.hard.ravel())


def _hamming_loss(t: Target) -> float:
    return float(np.mean(t.truth != t.hard))


def _require_score(t: Target) -> np.ndarray:
    if t.score is None:
        raise Undefined("the submission sent hard labels only, no probabilities")
    return t.score


def _auroc(t: Target) -> float:
    return auroc(t.truth, _require_score(t))


def _auprc(t: Target) -> float:
    return average_precision(t.truth, _require_score(t))


def _f1(t: Target) -> float:
    return f1_binary(t.truth, t.hard)


def _ranked(
    metric: Callable[[np.ndarray, np.ndarray, int], float], k: int
) -> Callable[[Target], float]:
    return lambda t: metric(t.truth, _require_score(t), k)


def _mean_label_auroc(t: Target) -> float:
    score = _require_score(t)
    values = []
    for j in range(t.n_outputs):
        try:
            values.append(auroc(t.truth[:, j], score[:, j]))
        except Undefined:
            continue
    if not values:
        raise Undefined("no label has both classes in the test fold")
    return float(np.mean(values))


_B, _MC, _ML = TaskType.BINARY, TaskType.MULTICLASS, TaskType.MULTILABEL
METRICS: dict[str, MetricDef] = {
    m.name: m
    for m in (
        MetricDef("auroc", frozenset({_B}), True, True, _auroc, "area under the ROC curve"),
        MetricDef("auprc", frozenset({_B}), True, True, _auprc, "average precision"),
        *(
            MetricDef(
                f"{name}_at_{k}", frozenset({_B}), True, True, _ranked(fn, k), f"{name} at {k}"
            )
            for name, fn in (("precision", precision_at_k), ("ndcg", ndcg_at_k))
            for k in (50, 100)
        ),
        MetricDef("f1", frozenset({_B}), True, False, _f1, "F1 of the positive class"),
        MetricDef("accuracy", frozenset({_B, _MC}), True, False, _accuracy, "share correct"),
        MetricDef(
            "macro_f1", frozenset({_MC, _ML}), True, False, _macro_f1, "mean F1 over classes"
        ),
        MetricDef(
            "weighted_f1", frozenset({_MC}), True, False, _weighted_f1, "support-weighted F1"
        ),
        MetricDef("micro_f1", frozenset({_ML}), True, False, _micro_f1, "F1 over all cells"),
        MetricDef(
            "hamming_loss", frozenset({_ML}), False, False, _hamming_loss, "share of wrong cells"
        ),
        MetricDef(
            "mean_auroc", frozenset({_ML}), True, True, _mean_label_auroc, "mean per-label AUROC"
        ),
    )
}


def check_metric_names(task_type: TaskType, names: list[str]) -> None:
    """Raise ValueError naming any metric that does not exist for ``task_type``."""
    for name in names:
        metric = METRICS.get(name)
        if metric is None or task_type not in metric.task_types:
            valid = sorted(n for n, m in METRICS.items() if task_type in m.task_types)
            raise ValueError(
                f"metric {name!r} is not available for {task_type} tasks; use one of {valid}"
            )


def compute(names: list[str], target: Target) -> Scores:
    """Compute the named metrics; undefined ones are None with a note, never NaN."""
    scores = Scores()
    for name in names:
        try:
            value = METRICS[name].compute(target)
        except Undefined as why:
            scores.values[name] = None
            scores.notes[name] = str(why)
            continue
        scores.values[name] = float(value)
    return scores
