"""SpaceOmicsBench v2.1's per-fold metrics (its evaluation harness's ``per_split`` entries).

Per fold, by task type (see docs/benchmarks.md and the spec's section 0.4):
binary      auroc, auprc, f1 (score >= 0.5), precision_at_{50,100}, ndcg_at_{50,100},
            positive_rate, n_positive, n_total
multiclass  accuracy, macro_f1 (over the task's class list), weighted_f1, per_class_f1,
            confusion_matrix
multilabel  micro_f1, macro_f1 (over all labels), hamming_loss, per_label_auroc, mean_auroc

A metric that is undefined on a fold (AUROC of a single-class fold) is None and listed in
the fold's ``undefined`` map with the reason; aggregation (``spaceomics``) skips it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runner.scoring.metrics import (
    Undefined,
    accuracy,
    auroc,
    average_precision,
    class_f1,
    confusion_matrix,
    f1_binary,
    hamming_loss,
    label_f1,
    ndcg_at_k,
    per_class_f1,
    per_label_auroc,
    precision_at_k,
)
from runner.scoring.spaceomics import FoldMetrics

RANK_KS = (50, 100)


def _try(fold: FoldMetrics, name: str, compute: Callable[[], float]) -> None:
    try:
        fold.values[name] = float(compute())
    except Undefined as why:
        fold.values[name] = None
        fold.undefined[name] = str(why)


def binary_fold(truth: np.ndarray, score: np.ndarray) -> FoldMetrics:
    """``truth`` 0/1, ``score`` the positive-class score."""
    fold = FoldMetrics()
    _try(fold, "auroc", lambda: auroc(truth, score))
    _try(fold, "auprc", lambda: average_precision(truth, score))
    fold.values["f1"] = f1_binary(truth, score >= 0.5)
    for k in RANK_KS:
        fold.values[f"precision_at_{k}"] = precision_at_k(truth, score, k)
        fold.values[f"ndcg_at_{k}"] = ndcg_at_k(truth, score, k)
    fold.values["positive_rate"] = float(np.mean(truth))
    fold.values["n_positive"] = int(np.sum(truth))
    fold.values["n_total"] = int(truth.size)
    return fold


def multiclass_fold(truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> FoldMetrics:
    """``truth`` and ``predicted`` are class indices into ``classes``."""
    fold = FoldMetrics()
    k = len(classes)
    per_class = per_class_f1(truth, predicted, k)
    fold.values["accuracy"] = accuracy(truth, predicted)
    fold.values["macro_f1"] = class_f1(truth, predicted, k, "macro")
    fold.values["weighted_f1"] = class_f1(truth, predicted, k, "weighted")
    fold.values["per_class_f1"] = {c: float(v) for c, v in zip(classes, per_class, strict=True)}
    fold.values["confusion_matrix"] = confusion_matrix(truth, predicted, k)
    return fold


def multilabel_fold(
    truth: np.ndarray, predicted: np.ndarray, score: np.ndarray | None, labels: list[str]
) -> FoldMetrics:
    """(n, L) 0/1 matrices; ``score`` optional (n, L) for per-label AUROC."""
    fold = FoldMetrics()
    fold.values["micro_f1"] = label_f1(truth, predicted, "micro")
    fold.values["macro_f1"] = label_f1(truth, predicted, "macro")
    fold.values["hamming_loss"] = hamming_loss(truth, predicted)
    if score is not None:
        per_label = dict(zip(labels, per_label_auroc(truth, score), strict=True))
        fold.values["per_label_auroc"] = per_label
        defined = [v for v in per_label.values() if v is not None]
        if defined:
            fold.values["mean_auroc"] = float(np.mean(defined))
        else:
            fold.values["mean_auroc"] = None
            fold.undefined["mean_auroc"] = "no label has both classes in the fold"
    return fold
