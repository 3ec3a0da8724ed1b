"""SpaceOmicsBench harness prediction directories: one ``<TASK>.json`` per task,
``{"predictions": [entry for fold 0, entry for fold 1, ...]}`` matched to folds by position.

Entry fields: ``y_score`` (binary: one score in [0, 1] per test row, in split order);
``y_pred`` (multiclass: class names; multilabel: rows of 0/1 per label) and, for
multilabel, an optional ``y_score`` matrix. Unlike the upstream harness (which skips
missing trailing entries and lets scikit-learn raise on bad lengths), every problem is
reported, one line each, and a task with problems is not scored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runner.scoring import spaceomics
from runner.suites.genelab import count
from runner.suites.spaceomicsbench.truth import TaskTruth

SHOWN = 5


@dataclass
class TaskPredictions:
    """The checked predictions of one task, per fold (None where the task had problems)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    hard: list[np.ndarray] = field(default_factory=list)
    score: list[np.ndarray | None] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.path}: {text}")


def _positions(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:SHOWN])
    return shown + (", …" if len(rows) > SHOWN else "")


def _kind(value: object) -> str:
    return {
        type(None): "null",
        bool: "a boolean",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), "a number")


def _numbers(
    found: TaskPredictions, where: str, values: list[Any], *, unit_interval: bool
) -> np.ndarray | None:
    """Check a flat list of probabilities; report each kind of bad value with positions."""
    bad: dict[str, list[int]] = {
        "not a number": [],
        "true/false, not a probability": [],
        "NaN or infinite": [],
        "outside [0, 1]": [],
    }
    for row, value in enumerate(values):
        if isinstance(value, bool):
            bad["true/false, not a probability"].append(row)
        elif not isinstance(value, (int, float)):
            bad["not a number"].append(row)
        elif not math.isfinite(value):
            bad["NaN or infinite"].append(row)
        elif unit_interval and not 0 <= value <= 1:
            bad["outside [0, 1]"].append(row)
    ok = True
    for kind, rows in bad.items():
        if rows:
            found.problem(f"{where}: {count(len(rows), 'value')} {kind} (rows {_positions(rows)})")
            ok = False
    return np.asarray(values, dtype=np.float64) if ok else None


def read_task_predictions(path: Path, truth: TaskTruth) -> TaskPredictions:
    """Parse and check ``path`` against the task's folds; every problem is collected."""
    found = TaskPredictions(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"), parse_constant=float)
    except json.JSONDecodeError as exc:
        found.problem(f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})")
        return found
    except (OSError, UnicodeDecodeError) as exc:
        found.problem(f"cannot be read: {exc}")
        return found
    if not isinstance(document, dict) or "predictions" not in document:
        found.problem('expected an object with a "predictions" list')
        return found
    entries = document["predictions"]
    if not isinstance(entries, list):
        found.problem(f'"predictions" must be a list (one entry per fold), got {_kind(entries)}')
        return found
    if len(entries) != len(truth.folds):
        found.problem(
            f"{len(entries)} prediction entries for the {len(truth.folds)} folds of {truth.split} "
            "(entries are matched to folds by position)"
        )
    for number, (entry, fold) in enumerate(zip(entries, truth.folds, strict=False)):
        where = f"fold {number} ({fold.name})"
        if not isinstance(entry, dict):
            found.problem(f"{where}: expected an object, got {_kind(entry)}")
            continue
        _check_entry(found, truth, where, entry, len(fold.test))
    if found.problems:
        found.hard, found.score = [], []
    return found


def _check_entry(
    found: TaskPredictions, truth: TaskTruth, where: str, entry: dict[str, Any], n_test: int
) -> None:
    field_name = "y_score" if truth.task_type == "binary" else "y_pred"
    values = entry.get(field_name)
    if not isinstance(values, list):
        found.problem(f"{where}: missing {field_name!r} (a list of {n_test} values)")
        return
    if len(values) != n_test:
        found.problem(
            f"{where}: {field_name} has {len(values)} values, the fold has {n_test} test rows"
        )
        return
    if truth.task_type == "binary":
        scores = _numbers(found, f"{where}: y_score", values, unit_interval=True)
        if scores is not None:
            found.hard.append((scores >= 0.5).astype(np.int64))
            found.score.append(scores)
        return
    if truth.task_type == "multiclass":
        index = {c: k for k, c in enumerate(truth.outputs)}
        unknown = [row for row, v in enumerate(values) if not isinstance(v, str) or v not in index]
        if unknown:
            found.problem(
                f"{where}: {count(len(unknown), 'y_pred value')} not a class name {truth.outputs} "
                f"(rows {_positions(unknown)})"
            )
            return
        found.hard.append(np.array([index[v] for v in values], dtype=np.int64))
        found.score.append(None)
        return
    width = len(truth.outputs)
    bad = [
        row
        for row, v in enumerate(values)
        if not isinstance(v, list)
        or len(v) != width
        or any(x not in (0, 1) or isinstance(x, float) for x in v)
    ]
    if bad:
        found.problem(
            f"{where}: {count(len(bad), 'y_pred row')} not {width} values of 0 or 1 "
            f"(rows {_positions(bad)})"
        )
        return
    found.hard.append(np.array(values, dtype=np.int64).reshape(n_test, width))
    score = entry.get("y_score")
    if score is None:
        found.score.append(None)
        return
    if (
        not isinstance(score, list)
        or len(score) != n_test
        or any(not isinstance(r, list) or len(r) != width for r in score)
    ):
        found.problem(f"{where}: y_score must be {n_test} rows of {width} numbers when given")
        return
    flat = _numbers(
        found, f"{where}: y_score", [x for row in score for x in row], unit_interval=True
    )
    found.score.append(None if flat is None else flat.reshape(n_test, width))


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
            metrics = spaceomics.binary_fold(y, score)
        elif truth.task_type == "multiclass":
            metrics = spaceomics.multiclass_fold(y, hard, truth.outputs)
        else:
            metrics = spaceomics.multilabel_fold(y, hard, score, truth.outputs)
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
