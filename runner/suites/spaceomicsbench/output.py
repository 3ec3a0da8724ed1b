"""The result file of ``airlock score spaceomicsbench``: the SpaceOmicsBench harness's own
layout, plus one ``airlock`` section for everything Airlock adds.

The harness (``evaluation/eval_harness.py``, ``run_full_benchmark``) writes one combined
file for all the tasks it was asked to score::

    {"benchmark": "SpaceOmicsBench", "version": "2.0", "n_tasks": <tasks asked for>,
     "results": {"<TASK>": {"task_id", "task_name", "task_type", "n_samples",
                            "primary_metric", "per_split": [...], "aggregate": {...},
                            "direction_concordance": {...}  (C2 only)}}}

``per_split`` holds one entry per fold, in split-file order: the fold's metrics in the
order the harness's metric functions write them, then ``split_info`` (the split file's
entry without its index lists). ``aggregate`` has ``{mean, std, min, max}`` for every numeric
per-split metric, keys sorted, then ``primary``. A task the harness cannot score is
``{"error": "..."}``; tasks without a prediction file are left out. Airlock writes the same,
except that JSON has no NaN: where the harness writes ``NaN`` Airlock writes ``null``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner import __version__
from runner.suites.spaceomicsbench.importer import VERSION
from runner.suites.spaceomicsbench.scoring import ScoredTask

BENCHMARK = "SpaceOmicsBench"
HARNESS_VERSION = "2.0"
"""What the harness writes as ``version`` (a constant in its code; the data is v2.1)."""

HARNESS_TASK_ORDER = (
    "A1", "A2", "B1", "B2", "C1", "C2", "D1", "E1", "E4",
    "F1", "F2", "F3", "F4", "F5", "G1", "H1", "I1", "I2", "I3",
    "E2", "E3",
)  # fmt: skip
"""The harness's task list: the 19 main tasks, then the supplementary E2 and E3. ``results``
follows this order and ``n_tasks`` is its length when every task is asked for."""

PER_SPLIT_KEYS: dict[str, tuple[str, ...]] = {
    "binary": (
        "auroc",
        "auprc",
        "f1",
        "positive_rate",
        "n_positive",
        "n_total",
        "precision_at_50",
        "ndcg_at_50",
        "precision_at_100",
        "ndcg_at_100",
    ),
    "multiclass": ("accuracy", "macro_f1", "weighted_f1", "per_class_f1", "confusion_matrix"),
    "multilabel": ("micro_f1", "macro_f1", "hamming_loss", "per_label_auroc", "mean_auroc"),
}
"""Per-split metric keys in the order the harness writes them, by task type."""

LEFT_OUT_WHEN_UNDEFINED = frozenset({"mean_auroc"})
"""Metrics the harness leaves out of a split (rather than writing NaN) when undefined."""


def _per_split(task: ScoredTask) -> list[dict[str, Any]]:
    entries = []
    for fold, metrics in zip(task.truth.folds, task.folds, strict=True):
        entry: dict[str, Any] = {}
        for key in PER_SPLIT_KEYS[task.truth.task_type]:
            if key not in metrics.values:
                continue
            value = metrics.values[key]
            if value is None and key in LEFT_OUT_WHEN_UNDEFINED:
                continue
            entry[key] = value
        entry["split_info"] = dict(fold.info)
        entries.append(entry)
    return entries


def _aggregate(task: ScoredTask) -> dict[str, Any]:
    names = set(PER_SPLIT_KEYS[task.truth.task_type])
    aggregate: dict[str, Any] = {
        name: {stat: task.aggregate[name][stat] for stat in ("mean", "std", "min", "max")}
        for name in sorted(task.aggregate)
        if name in names
    }
    if task.truth.primary_metric in aggregate:
        aggregate["primary"] = dict(aggregate[task.truth.primary_metric])
    return aggregate


def harness_result(task: ScoredTask) -> dict[str, Any]:
    """One task's entry of ``results``, key for key as the harness writes it."""
    truth = task.truth
    result: dict[str, Any] = {
        "task_id": truth.task_id,
        "task_name": truth.task_name,
        "task_type": truth.harness_task_type,
        "n_samples": truth.n_samples,
        "primary_metric": truth.primary_metric,
        "per_split": _per_split(task),
    }
    if result["per_split"]:
        result["aggregate"] = _aggregate(task)
    if truth.direction_concordance is not None:
        result["direction_concordance"] = dict(truth.direction_concordance)
    return result


def airlock_task(task: ScoredTask) -> dict[str, Any]:
    """What Airlock knows about one task beyond the harness's keys."""
    truth = task.truth
    entry: dict[str, Any] = {
        "task_type": truth.task_type,
        "split": truth.split,
        "n_folds": len(task.folds),
        "per_fold": [
            {"fold": fold.name, "undefined": dict(metrics.undefined)}
            for fold, metrics in zip(truth.folds, task.folds, strict=True)
        ],
        "n_folds_per_metric": {
            name: stats["n_folds"] for name, stats in task.aggregate.items() if "n_folds" in stats
        },
    }
    if truth.warnings:
        entry["warnings"] = list(truth.warnings)
    if truth.notes:
        entry["notes"] = list(truth.notes)
    return entry


def document(
    requested: list[str],
    scored: dict[str, ScoredTask],
    skipped: dict[str, str],
    summary: dict[str, Any],
    source: Path,
) -> dict[str, Any]:
    """The whole result file: the harness's keys, then ``airlock``.

    ``requested`` is what ``--task`` asked for (every task id for ``all``), the harness's
    ``n_tasks``. A task whose truth cannot be built (``skipped``) gets the harness's
    ``{"error": ...}`` entry.
    """
    results: dict[str, Any] = {}
    for task_id in HARNESS_TASK_ORDER:
        if task_id in scored:
            results[task_id] = harness_result(scored[task_id])
        elif task_id in skipped:
            results[task_id] = {"error": skipped[task_id]}
    return {
        "benchmark": BENCHMARK,
        "version": HARNESS_VERSION,
        "n_tasks": len(requested),
        "results": results,
        "airlock": {
            "runner_version": __version__,
            "benchmark_version": VERSION,
            "source": str(source),
            "tasks": {t: airlock_task(scored[t]) for t in HARNESS_TASK_ORDER if t in scored},
            "skipped": {t: skipped[t] for t in HARNESS_TASK_ORDER if t in skipped},
            "summary": summary,
        },
    }
