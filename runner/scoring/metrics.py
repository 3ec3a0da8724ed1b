"""Metric functions: no I/O, defined the way the hosted benchmarks define them.

scikit-learn computes accuracy, every F1 average, the Hamming loss and the confusion matrix
with the benchmarks' definitions and the same arithmetic, so those are its functions. Four
stay written out here, each for a reason given where it is defined: AUROC (the exact
Mann-Whitney ratio, on scipy's ranks), AUPRC (summation order), precision@k and NDCG@k
(the SpaceOmicsBench harness's tie order).

Conventions (from the benchmarks' evaluators):
* AUROC is the Mann-Whitney probability with ties counted one half; it is undefined (None)
  when the truth has a single class. Constant scores give exactly 0.5.
* AUPRC is step-wise average precision (no interpolation); undefined without positives.
* F1 is the positive class's F1 with 0 when undefined (no predicted and no true positives).
* Macro averages run over every declared class or label, an absent one counting 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.stats import rankdata
from sklearn import metrics as sk

from runner.errors import Signal
from runner.task_types import METRIC_KINDS, MetricKind


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


class Undefined(Signal):
    """The metric has no value on this fold; the message says why."""


@dataclass(frozen=True)
class MetricDef(MetricKind):
    """A metric name (``runner.task_types``) with the function that computes it."""

    compute: Callable[[Target], float] = field(kw_only=True)


def auroc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties count one half).

    scikit-learn's ``roc_auc_score`` sums trapezoids under the ROC curve, which agrees with
    this ratio of exact integer-valued sums to about 2e-16 but not bit for bit (a third of
    random folds differ by 1-3 ulp); Airlock's scores have always been the exact ratio, so
    only the ranking is delegated (to scipy, whose average ranks are the same numbers).
    """
    positive = np.asarray(truth).astype(bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise Undefined("only one class in the test fold")
    ranks = rankdata(np.asarray(score, dtype=np.float64))
    rank_sum = float(ranks[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def average_precision(truth: np.ndarray, score: np.ndarray) -> float:
    """Step-wise average precision: sum over thresholds of (R_t - R_t-1) * P_t.

    scikit-learn's ``average_precision_score`` has the same definition but sums the terms
    from the lowest threshold up; floating-point addition is not associative, so its value
    can differ by a few ulp (about 3e-16). The sum here runs from the highest threshold
    down, as Airlock's always has.
    """
    positive = np.asarray(truth).astype(bool)
    n_pos = int(positive.sum())
    if n_pos == 0:
        raise Undefined("no positive samples in the test fold")
    order = np.argsort(-np.asarray(score, dtype=np.float64), kind="mergesort")
    sorted_score = np.asarray(score, dtype=np.float64)[order]
    sorted_truth = positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_score)), sorted_truth.size - 1]
    true_pos = np.cumsum(sorted_truth)[last_of_tie]
    predicted = last_of_tie + 1
    precision = true_pos / predicted
    recall = true_pos / n_pos
    recall_step = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_step * precision))


@functools.cache
def warm_up() -> None:
    """Pay scikit-learn's one-off first-call costs now (its input checks look for dataframe
    plugins among every installed package's entry points: a fifth of a second here), so a
    run's prefetch thread pays them rather than its first fold."""
    tiny = np.array([0, 1, 1])
    sk.f1_score(tiny, tiny, zero_division=0)


def f1_binary(truth: np.ndarray, hard: np.ndarray) -> float:
    """F1 of the positive class (1); 0 with no true and no predicted positive."""
    return float(sk.f1_score(truth, hard, zero_division=0))


def per_class_f1(truth: np.ndarray, hard: np.ndarray, n_classes: int) -> np.ndarray:
    """F1 of each class index 0..n_classes-1 (0 where undefined)."""
    values: np.ndarray = sk.f1_score(
        truth, hard, labels=np.arange(n_classes), average=None, zero_division=0
    )
    return values


def class_f1(
    truth: np.ndarray, hard: np.ndarray, n_classes: int, average: Literal["macro", "weighted"]
) -> float:
    """Macro or support-weighted F1 over the class indices 0..n_classes-1."""
    labels = np.arange(n_classes)
    return float(sk.f1_score(truth, hard, labels=labels, average=average, zero_division=0))


def label_f1(truth: np.ndarray, hard: np.ndarray, average: Literal["micro", "macro"]) -> float:
    """Micro or macro F1 over the labels of (n, L) 0/1 matrices."""
    if truth.shape[1] == 1:
        # scikit-learn reads a one-column indicator matrix as a binary target and would
        # average over classes 0 and 1; one label's micro and macro F1 are that label's F1.
        return f1_binary(truth[:, 0], hard[:, 0])
    return float(sk.f1_score(truth, hard, average=average, zero_division=0))


def accuracy(truth: np.ndarray, hard: np.ndarray) -> float:
    """Share of rows predicted correctly."""
    return float(sk.accuracy_score(truth, hard))


def hamming_loss(truth: np.ndarray, hard: np.ndarray) -> float:
    """Share of wrong cells."""
    return float(sk.hamming_loss(truth, hard))


def confusion_matrix(truth: np.ndarray, hard: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts of (true class, predicted class), rows and columns in class-index order."""
    matrix = sk.confusion_matrix(truth, hard, labels=np.arange(n_classes))
    counts: list[list[int]] = matrix.tolist()
    return counts


def per_label_auroc(truth: np.ndarray, score: np.ndarray) -> list[float | None]:
    """AUROC of each label column; None for a label with one class in the fold."""
    values: list[float | None] = []
    for j in range(truth.shape[1]):
        try:
            values.append(auroc(truth[:, j], score[:, j]))
        except Undefined:
            values.append(None)
    return values


def precision_at_k(truth: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of positives among the k highest scores (k capped at the fold size).

    Ties are ranked in numpy's default (unstable) descending order, as the SpaceOmicsBench
    harness ranks them; scikit-learn has no ranking precision@k.
    """
    k = min(k, truth.size)
    top = np.argsort(-score)[:k]
    return float(np.sum(truth[top]) / k)


def ndcg_at_k(truth: np.ndarray, score: np.ndarray, k: int) -> float:
    """DCG of the top k (gain 1/log2(rank + 1)) over the ideal DCG; 0 without positives.

    The harness ranks ties in numpy's default descending order; scikit-learn's
    ``ndcg_score`` averages the gains of tied scores instead, so it is not used.
    """
    k = min(k, truth.size)
    gains = truth[np.argsort(-score)[:k]].astype(np.float64)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.sort(truth.astype(np.float64))[::-1][:k]
    ideal_dcg = float(np.sum(ideal * discounts))
    return 0.0 if ideal_dcg == 0 else float(np.sum(gains * discounts) / ideal_dcg)


def _require_score(t: Target) -> np.ndarray:
    if t.score is None:
        raise Undefined("the submission sent hard labels only, no probabilities")
    return t.score


def _macro_f1(t: Target) -> float:
    if t.truth.ndim == 2:
        return label_f1(t.truth, t.hard, "macro")
    return class_f1(t.truth, t.hard, t.n_outputs, "macro")


def _mean_label_auroc(t: Target) -> float:
    values = [v for v in per_label_auroc(t.truth, _require_score(t)) if v is not None]
    if not values:
        raise Undefined("no label has both classes in the test fold")
    return float(np.mean(values))


def _ranked(
    metric: Callable[[np.ndarray, np.ndarray, int], float], k: int
) -> Callable[[Target], float]:
    return lambda t: metric(t.truth, _require_score(t), k)


_COMPUTE: dict[str, Callable[[Target], float]] = {
    "auroc": lambda t: auroc(t.truth, _require_score(t)),
    "auprc": lambda t: average_precision(t.truth, _require_score(t)),
    **{f"precision_at_{k}": _ranked(precision_at_k, k) for k in (50, 100)},
    **{f"ndcg_at_{k}": _ranked(ndcg_at_k, k) for k in (50, 100)},
    "f1": lambda t: f1_binary(t.truth, t.hard),
    "accuracy": lambda t: accuracy(t.truth, t.hard),
    "macro_f1": _macro_f1,
    "weighted_f1": lambda t: class_f1(t.truth, t.hard, t.n_outputs, "weighted"),
    "micro_f1": lambda t: label_f1(t.truth, t.hard, "micro"),
    "hamming_loss": lambda t: hamming_loss(t.truth, t.hard),
    "mean_auroc": _mean_label_auroc,
}
METRICS: dict[str, MetricDef] = {
    name: MetricDef(
        kind.name,
        kind.task_types,
        kind.higher_is_better,
        kind.needs_score,
        kind.description,
        compute=_COMPUTE[name],
    )
    for name, kind in METRIC_KINDS.items()
}


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
