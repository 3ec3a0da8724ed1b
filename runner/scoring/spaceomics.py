"""SpaceOmicsBench v2.1's metrics and aggregation (its evaluation harness), pure numpy.

Per fold, by task type (see docs/benchmarks.md and the spec's section 0.4):
binary      auroc, auprc, f1 (score >= 0.5), precision_at_{50,100}, ndcg_at_{50,100},
            positive_rate, n_positive, n_total
multiclass  accuracy, macro_f1 (over the task's class list), weighted_f1, per_class_f1,
            confusion_matrix
multilabel  micro_f1, macro_f1 (over all labels), hamming_loss, per_label_auroc, mean_auroc

A metric that is undefined on a fold (AUROC of a single-class fold) is None and listed in
the fold's ``undefined`` map with the reason; aggregation skips it and says so.
Aggregation: mean, population sd, min and max over the folds where a value exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.scoring.metrics import (
    Undefined,
    auroc,
    average_precision,
    f1_binary,
    ndcg_at_k,
    per_class_f1,
    precision_at_k,
)

RANK_KS = (50, 100)
EXCLUDED_FROM_COMPOSITE = frozenset({"E2", "E3"})
CATEGORIES: dict[str, tuple[str, ...]] = {
    "A_clinical": ("A1", "A2"),
    "B_cfrna": ("B1", "B2"),
    "C_proteomics": ("C1", "C2"),
    "D_metabolomics": ("D1",),
    "E_spatial": ("E1", "E4"),
    "F_bodysite": ("F1", "F4"),
    "F_phase": ("F2", "F5"),
    "F_source": ("F3",),
    "G_multimodal": ("G1",),
    "H_crosstissue": ("H1",),
    "I_crossmission": ("I1", "I2", "I3"),
}
RANDOM_REFERENCE: dict[str, float] = {
    "A1": 0.2143, "A2": 0.2143, "B1": 0.0202, "B2": 0.0833, "C1": 0.1698, "C2": 0.5286,
    "D1": 0.4812, "E1": 0.0078, "E2": 0.0012, "E3": 0.0019, "E4": 0.0029, "F1": 0.1124,
    "F2": 0.2047, "F3": 0.4018, "F4": 0.1124, "F5": 0.2047, "G1": 0.2532, "H1": 0.0604,
    "I1": 0.0033, "I2": 0.5041, "I3": 0.0587,
}  # fmt: skip
"""The published random baseline's mean primary metric (one random draw, rounded)."""


@dataclass
class FoldMetrics:
    values: dict[str, Any] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)


def _try(fold: FoldMetrics, name: str, compute: Any) -> None:
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
    support = np.bincount(truth, minlength=k)
    fold.values["accuracy"] = float(np.mean(truth == predicted))
    fold.values["macro_f1"] = float(np.mean(per_class))
    fold.values["weighted_f1"] = float(np.sum(per_class * support) / support.sum())
    fold.values["per_class_f1"] = {c: float(v) for c, v in zip(classes, per_class, strict=True)}
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    fold.values["confusion_matrix"] = matrix.tolist()
    return fold


def multilabel_fold(
    truth: np.ndarray, predicted: np.ndarray, score: np.ndarray | None, labels: list[str]
) -> FoldMetrics:
    """(n, L) 0/1 matrices; ``score`` optional (n, L) for per-label AUROC."""
    fold = FoldMetrics()
    fold.values["micro_f1"] = f1_binary(truth.ravel(), predicted.ravel())
    fold.values["macro_f1"] = float(
        np.mean([f1_binary(truth[:, j], predicted[:, j]) for j in range(len(labels))])
    )
    fold.values["hamming_loss"] = float(np.mean(truth != predicted))
    if score is not None:
        per_label: dict[str, float | None] = {}
        for j, name in enumerate(labels):
            try:
                per_label[name] = auroc(truth[:, j], score[:, j])
            except Undefined:
                per_label[name] = None
        fold.values["per_label_auroc"] = per_label
        defined = [v for v in per_label.values() if v is not None]
        if defined:
            fold.values["mean_auroc"] = float(np.mean(defined))
        else:
            fold.values["mean_auroc"] = None
            fold.undefined["mean_auroc"] = "no label has both classes in the fold"
    return fold


def aggregate(folds: list[FoldMetrics]) -> dict[str, dict[str, float | int]]:
    """Mean, population sd, min, max of every numeric per-fold metric over defined folds."""
    names = (
        [
            n
            for n in folds[0].values
            if all(isinstance(f.values.get(n), (int, float, type(None))) for f in folds)
        ]
        if folds
        else []
    )
    result: dict[str, dict[str, float | int]] = {}
    for name in names:
        values = [
            float(v)
            for f in folds
            if (v := f.values.get(name)) is not None
            and not (isinstance(v, float) and math.isnan(v))
        ]
        if not values:
            continue
        result[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
            "n_folds": len(values),
        }
    return result


def normalized_score(mean_primary: float, random_reference: float) -> float:
    """max(0, (s - r) / (1 - r)) on the 4-dp rounded mean, as published; 0 when r >= 1."""
    if random_reference >= 1:
        return 0.0
    return max(0.0, (round(mean_primary, 4) - random_reference) / (1 - random_reference))


def composite(normalized: dict[str, float]) -> dict[str, Any]:
    """Category means of the normalized scores present, and their mean (E2, E3 excluded)."""
    categories = {}
    for category, members in CATEGORIES.items():
        present = [
            normalized[t] for t in members if t in normalized and t not in EXCLUDED_FROM_COMPOSITE
        ]
        if present:
            categories[category] = float(np.mean(present))
    return {
        "categories": categories,
        "composite": float(np.mean(list(categories.values()))) if categories else None,
        "n_categories": len(categories),
    }
