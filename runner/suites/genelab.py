"""GeneLab benchmark submissions: task folders, validation, and the evaluator's output.

A submission is ``{"task_id", "model_name", "predictions": {unit: {sample id: p}}}``; a
unit is a ``fold_*`` folder (Category A) or a ``pair_<TRAIN>_<TEST>`` folder (Category B,
task ids starting with "B"); folders whose name contains ``holdout`` are optional: checked
when submitted, never scored. Validation is stricter than upstream's (booleans, duplicate
ids and non-string names are refused) and reports every problem at once, one line each.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runner import __version__
from runner.scoring import genelab as stats

MODEL_NAME_PATTERN = re.compile(r"[\w\-.]+")
MODEL_NAME_MAX = 50
SHOWN = 5


class _Constant(float):
    """A NaN/Infinity token from the JSON text (kept so it can be reported by name)."""

    token: str

    def __new__(cls, token: str) -> _Constant:
        value = super().__new__(cls, float(token.replace("Infinity", "inf")))
        value.token = token
        return value


@dataclass(frozen=True)
class TaskFolder:
    task_id: str
    path: Path
    mode: str
    required: list[str]
    heldout: list[str]


@dataclass
class Checked:
    """A parsed submission and everything wrong with it (empty ``problems``: valid)."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    task: TaskFolder | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.path}: {text}")


def count(n: int, noun: str) -> str:
    """``1 value`` / ``2 values``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _first(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (", …" if len(values) > SHOWN else "")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def resolve_task(tasks_dir: Path, task_id: str, task_dir: str | None) -> TaskFolder | str:
    """The task folder for ``task_id`` (or why it cannot be found)."""
    if task_dir is not None:
        path = tasks_dir / task_dir
        if not path.is_dir():
            return f"--task-dir {task_dir!r}: no such folder in {tasks_dir}"
        if not task_dir.startswith(f"{task_id}_"):
            return f"--task-dir {task_dir!r} does not belong to task_id {task_id!r}"
    else:
        candidates = sorted(
            p.name for p in tasks_dir.iterdir() if p.is_dir() and p.name.startswith(f"{task_id}_")
        )
        if not candidates:
            return f"task {task_id!r} not found: no folder {task_id}_* in {tasks_dir}"
        if len(candidates) > 1:
            return f"task_id {task_id!r} is ambiguous ({', '.join(candidates)}); pass --task-dir"
        path = tasks_dir / candidates[0]
    mode = "pair" if task_id.startswith("B") else "fold"
    units = sorted(p.name for p in path.iterdir() if p.is_dir() and p.name.startswith(f"{mode}_"))
    return TaskFolder(
        task_id=task_id,
        path=path,
        mode=mode,
        required=[u for u in units if "holdout" not in u],
        heldout=[u for u in units if "holdout" in u],
    )


def read_labels(unit_dir: Path) -> tuple[list[str], np.ndarray]:
    """Sample ids and 1.0/0.0 labels of a unit, from ``test_y.csv`` (first data column)."""
    with (unit_dir / "test_y.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    body = [row for row in rows[1:] if row]
    return [row[0] for row in body], np.array([float(row[1]) for row in body])


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    if duplicates:
        result["\0duplicates"] = duplicates
    return result


def check_submission(path: Path, tasks_dir: Path, task_dir: str | None = None) -> Checked:
    """Parse and validate a submission file; every problem is collected."""
    checked = Checked(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        checked.problem("file not found")
        return checked
    except (OSError, UnicodeDecodeError) as exc:
        checked.problem(f"cannot be read: {exc}")
        return checked
    try:
        data = json.loads(
            text, parse_constant=_Constant, object_pairs_hook=_object_without_duplicates
        )
    except json.JSONDecodeError as exc:
        checked.problem(f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})")
        return checked
    except RecursionError:
        checked.problem("JSON nests too deeply")
        return checked
    if not isinstance(data, dict):
        checked.problem(f"expected a JSON object at the top level, got {_kind(data)}")
        return checked
    checked.data = data
    if data.pop("\0duplicates", None):
        checked.problem("a top-level key appears twice")
    for key in ("task_id", "model_name", "predictions"):
        if key not in data:
            checked.problem(f"missing required key {key!r}")
    _check_model_name(checked, data.get("model_name"))
    task_id = data.get("task_id")
    if "task_id" in data and not (isinstance(task_id, str) and task_id):
        checked.problem(f'task_id must be a non-empty string such as "A4", got {_kind(task_id)}')
        task_id = None
    predictions = data.get("predictions")
    if "predictions" in data and not isinstance(predictions, dict):
        checked.problem(
            "predictions must be an object {unit: {sample id: probability}}, "
            f"got {_kind(predictions)}"
        )
        predictions = None
    if not isinstance(task_id, str) or not task_id:
        return checked
    resolved = resolve_task(tasks_dir, task_id, task_dir)
    if isinstance(resolved, str):
        checked.problem(resolved)
        return checked
    checked.task = resolved
    if isinstance(predictions, dict):
        _check_predictions(checked, resolved, predictions)
    return checked


def _check_model_name(checked: Checked, name: object) -> None:
    if name is None and "model_name" not in checked.data:
        return
    if not isinstance(name, str):
        checked.problem(f"model_name must be a string, got {_kind(name)}")
    elif not name:
        checked.problem("model_name is empty")
    elif len(name) > MODEL_NAME_MAX:
        checked.problem(f"model_name is {len(name)} characters long; at most {MODEL_NAME_MAX}")
    elif not MODEL_NAME_PATTERN.fullmatch(name):
        checked.problem(f"model_name {name!r} may hold only letters, digits, '_', '-' and '.'")


def _check_predictions(checked: Checked, task: TaskFolder, predictions: dict[str, Any]) -> None:
    duplicated_units = predictions.pop("\0duplicates", [])
    if duplicated_units:
        checked.problem(f"units given twice in predictions: {_first(duplicated_units)}")
    missing = [u for u in task.required if u not in predictions]
    if missing:
        checked.problem(
            f"{len(missing)} of {count(len(task.required), 'required ' + task.mode)} missing: "
            f"{_first(missing)}"
        )
    unknown = sorted(u for u in predictions if u not in task.required and u not in task.heldout)
    if unknown:
        checked.problem(
            f"{count(len(unknown), 'unknown ' + task.mode)}: {_first(unknown)} "
            f"(task {task.task_id} has {_first(task.required)})"
        )
    for unit in [*task.required, *task.heldout]:
        if unit in predictions:
            _check_unit(checked, task, unit, predictions[unit])


def _check_unit(checked: Checked, task: TaskFolder, unit: str, values: object) -> None:
    if not isinstance(values, dict):
        checked.problem(
            f"{unit}: expected an object {{sample id: probability}}, got {_kind(values)}"
        )
        return
    duplicates = values.pop("\0duplicates", [])
    if duplicates:
        checked.problem(
            f"{unit}: {count(len(duplicates), 'sample id')} given twice: {_first(duplicates)}"
        )
    if not (task.path / unit / "test_y.csv").is_file():
        checked.problem(
            f"{unit}: the task has no labels for it ({task.path / unit / 'test_y.csv'} missing)"
        )
        return
    expected, _ = read_labels(task.path / unit)
    expected_set = set(expected)
    missing = [i for i in expected if i not in values]
    if missing:
        checked.problem(
            f"{unit}: {len(missing)} of {count(len(expected), 'sample id')} missing: "
            f"{_first(missing)}"
        )
    extra = sorted(i for i in values if i not in expected_set)
    if extra:
        checked.problem(f"{unit}: {count(len(extra), 'unknown sample id')}: {_first(extra)}")
    kinds: dict[str, list[str]] = {"not a number": [], "boolean": [], "nonfinite": [], "range": []}
    for sample_id, value in values.items():
        if isinstance(value, bool):
            kinds["boolean"].append(f"{sample_id!r} ({str(value).lower()})")
        elif not isinstance(value, (int, float)):
            kinds["not a number"].append(f"{sample_id!r} ({json.dumps(value)[:20]})")
        elif not math.isfinite(value):
            token = getattr(value, "token", str(value))
            kinds["nonfinite"].append(f"{sample_id!r} ({token})")
        elif not 0 <= value <= 1:
            kinds["range"].append(f"{sample_id!r} ({value})")
    messages = {
        "not a number": "not a number",
        "boolean": "true/false, not a probability",
        "nonfinite": "NaN or infinite",
        "range": "outside [0, 1]",
    }
    for kind, found in kinds.items():
        if found:
            shown = ", ".join(found[:SHOWN]) + (", …" if len(found) > SHOWN else "")
            checked.problem(f"{unit}: {count(len(found), 'value')} {messages[kind]}: {shown}")


def evaluate(
    checked: Checked,
    *,
    n_bootstrap: int = stats.DEFAULT_N_BOOTSTRAP,
    n_perm: int = stats.DEFAULT_N_PERM,
    pooled_n_bootstrap: int | None = None,
) -> dict[str, Any]:
    """Score a valid submission; the upstream evaluator's JSON plus an ``airlock`` section."""
    if checked.task is None or checked.problems:
        raise ValueError("evaluate() needs a submission that passed check_submission()")
    task, data = checked.task, checked.data
    predictions = data["predictions"]
    units, all_labels, all_scores = [], [], []
    for unit in task.required:
        ids, labels = read_labels(task.path / unit)
        scores = np.array([float(predictions[unit][i]) for i in ids])
        units.append(stats.unit_stats(unit, labels, scores, n_bootstrap, n_perm))
        all_labels.append(labels)
        all_scores.append(scores)
    summary = stats.summarize(
        units,
        np.concatenate(all_labels),
        np.concatenate(all_scores),
        n_bootstrap,
        pooled_n_bootstrap,
    )
    category_b = task.mode == "pair"
    fold_results = []
    for stat in units:
        entry: dict[str, Any] = {
            "fold": stat.name,
            "n_test": stat.n_test,
            "n_flight": stat.n_flight,
            "n_ground": stat.n_ground,
            "auroc": stat.auroc,
            "ci_lower": _finite(stat.ci_lower),
            "ci_upper": _finite(stat.ci_upper),
            "perm_p": stat.perm_p,
        }
        if stat.error:
            entry["error"] = stat.error
        fold_results.append(entry)
    airlock: dict[str, Any] = {
        "runner_version": __version__,
        "task_dir": str(task.path),
        "mode": task.mode,
        "n_bootstrap": n_bootstrap,
        "n_perm": n_perm,
        "pooled_n_bootstrap": pooled_n_bootstrap if pooled_n_bootstrap is not None else n_bootstrap,
        "seed": stats.SEED,
        "units": [
            {
                "fold": u.name,
                "status": "undefined" if u.auroc is None else "ok",
                "reason": u.error or "",
                "n_bootstrap_used": u.n_bootstrap_used,
            }
            for u in units
        ],
        "excluded_from_means": summary.excluded,
        "heldout_validated_not_scored": [u for u in task.heldout if u in predictions],
    }
    if category_b:
        airlock["transfer_pattern"] = stats.transfer_pattern(units)
        airlock["upstream_go_nogo"] = summary.go_nogo
        airlock["go_nogo_note"] = (
            "Category B (cross-mission pairs) has no GO/NO-GO; summary.go_nogo is null"
        )
    return {
        "task_id": task.task_id,
        "model_name": data["model_name"],
        "model_description": data.get("model_description", ""),
        "submission_date": data.get("submission_date", ""),
        "n_folds": len(units),
        "fold_results": fold_results,
        "summary": {
            "mean_auroc": summary.mean_auroc,
            "std_auroc": summary.std_auroc,
            "mean_ci_lower": _finite(summary.mean_ci_lower),
            "overall_auroc_pooled": summary.overall_auroc_pooled,
            "overall_ci_lower": _finite(summary.overall_ci_lower),
            "overall_ci_upper": _finite(summary.overall_ci_upper),
            "mean_perm_p": summary.mean_perm_p,
            "go_nogo": None if category_b else summary.go_nogo,
        },
        "thresholds": dict(stats.THRESHOLDS),
        "airlock": airlock,
    }


def _finite(value: float | None) -> float | None:
    """NaN (no usable bootstrap replicate) is written as null: JSON has no NaN."""
    return None if value is None or math.isnan(value) else value
