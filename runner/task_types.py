"""Task types and the metrics each one may name: the vocabulary ``bundle.yaml`` and the
scoring layer share.

A leaf module (it imports nothing from ``runner``), so that the bundle schema can check a
bundle's metric names without importing the scoring code, and the leaderboard can know a
metric's direction without importing scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TaskType(StrEnum):
    """How labels are shaped; decides the prediction format and the metrics."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    MULTILABEL = "multilabel"


@dataclass(frozen=True)
class MetricKind:
    """What a metric name means to a bundle: where it applies and which way is better.

    ``needs_score``: the metric reads probabilities, not hard labels.
    """

    name: str
    task_types: frozenset[TaskType]
    higher_is_better: bool
    needs_score: bool
    description: str


_B, _MC, _ML = TaskType.BINARY, TaskType.MULTICLASS, TaskType.MULTILABEL
METRIC_KINDS: dict[str, MetricKind] = {
    kind.name: kind
    for kind in (
        MetricKind("auroc", frozenset({_B}), True, True, "area under the ROC curve"),
        MetricKind("auprc", frozenset({_B}), True, True, "average precision"),
        *(
            MetricKind(f"{name}_at_{k}", frozenset({_B}), True, True, f"{name} at {k}")
            for name in ("precision", "ndcg")
            for k in (50, 100)
        ),
        MetricKind("f1", frozenset({_B}), True, False, "F1 of the positive class"),
        MetricKind("accuracy", frozenset({_B, _MC}), True, False, "share correct"),
        MetricKind("macro_f1", frozenset({_MC, _ML}), True, False, "mean F1 over classes"),
        MetricKind("weighted_f1", frozenset({_MC}), True, False, "support-weighted F1"),
        MetricKind("micro_f1", frozenset({_ML}), True, False, "F1 over all cells"),
        MetricKind("hamming_loss", frozenset({_ML}), False, False, "share of wrong cells"),
        MetricKind("mean_auroc", frozenset({_ML}), True, True, "mean per-label AUROC"),
    )
}


def check_metric_names(task_type: TaskType, names: list[str]) -> None:
    """Raise ValueError naming any metric that does not exist for ``task_type``."""
    for name in names:
        kind = METRIC_KINDS.get(name)
        if kind is None or task_type not in kind.task_types:
            valid = sorted(n for n, k in METRIC_KINDS.items() if task_type in k.task_types)
            raise ValueError(
                f"metric {name!r} is not available for {task_type} tasks; use one of {valid}"
            )
