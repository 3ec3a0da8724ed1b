"""GeneLab benchmark submissions: the task folders they answer, and their validation.

A submission is ``{"task_id", "model_name", "predictions": {unit: {sample id: p}}}``; a
unit is a ``fold_*`` folder (Category A) or a ``pair_<TRAIN>_<TEST>`` folder (Category B,
task ids starting with "B"); folders whose name contains ``holdout`` are optional: checked
when submitted, never scored. The document is parsed by a strict pydantic model; what the
model cannot know (the task's units and sample ids, repeated keys) is checked against the
task folder. Validation is stricter than upstream's (booleans, duplicate ids and non-string
names are refused) and reports every problem at once, one line each. Scoring a valid
submission is ``genelab_result``'s job.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from runner.suites.prediction_json import (
    BadValue,
    Constant,
    Probability,
    Unreadable,
    bad_values,
    count,
    duplicates_of,
    kind,
    read_json,
    shown,
)

MODEL_NAME_MAX = 50
REQUIRED_KEYS = ("task_id", "model_name", "predictions")


@dataclass(frozen=True)
class TaskFolder:
    task_id: str
    path: Path
    mode: str
    required: list[str]
    heldout: list[str]


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


class Submission(BaseModel):
    """A submission as the benchmark defines it, parsed strictly (no coercion: a number is
    not a name, ``true`` is not a probability). Other top-level keys are ignored, as
    upstream ignores them; the description and date are copied into the result as given."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, regex_engine="python-re")

    task_id: Annotated[str, Field(min_length=1)]
    model_name: Annotated[
        str, Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=r"\A[\w\-.]+\Z")
    ]
    predictions: dict[str, dict[str, Probability]]
    model_description: Any = ""
    submission_date: Any = ""


@dataclass
class Checked:
    """A parsed submission and everything wrong with it (empty ``problems``: valid, and then
    ``submission`` and ``task`` are set)."""

    path: Path
    submission: Submission | None = None
    task: TaskFolder | None = None
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.path}: {text}")


def check_submission(path: Path, tasks_dir: Path, task_dir: str | None = None) -> Checked:
    """Parse and validate a submission file; every problem is collected."""
    checked = Checked(path)
    try:
        document = read_json(path)
    except Unreadable as why:
        checked.problem(str(why))
        return checked
    try:
        submission: Submission | None = Submission.model_validate(document)
        errors: list[ErrorDetails] = []
    except ValidationError as invalid:
        submission, errors = None, invalid.errors()
    if errors and errors[0]["loc"] == ():
        checked.problem(f"expected a JSON object at the top level, got {kind(document)}")
        return checked
    if duplicates_of(document):
        checked.problem("a top-level key appears twice")
    header = sorted((e for e in errors if len(e["loc"]) == 1), key=_header_order)
    for error in header:
        checked.problem(_header_problem(error))
    invalid_keys = {e["loc"][0] for e in header}
    if "task_id" in invalid_keys:
        return checked
    resolved = resolve_task(tasks_dir, document["task_id"], task_dir)
    if isinstance(resolved, str):
        checked.problem(resolved)
        return checked
    checked.task = resolved
    if "predictions" not in invalid_keys:
        _check_predictions(checked, resolved, document["predictions"], errors)
    if not checked.problems:
        checked.submission = submission
    return checked


def _header_order(error: ErrorDetails) -> tuple[int, int]:
    """Missing keys first (in ``REQUIRED_KEYS`` order), then model_name, task_id,
    predictions: the order Airlock has always reported them in."""
    key = str(error["loc"][0])
    if error["type"] == "missing":
        return 0, REQUIRED_KEYS.index(key)
    return 1, ("model_name", "task_id", "predictions").index(key)


def _header_problem(error: ErrorDetails) -> str:
    key, value = error["loc"][0], error["input"]
    if error["type"] == "missing":
        return f"missing required key {key!r}"
    if key == "task_id":
        return f'task_id must be a non-empty string such as "A4", got {kind(value)}'
    if key == "predictions":
        return (
            f"predictions must be an object {{unit: {{sample id: probability}}}}, got {kind(value)}"
        )
    if error["type"] == "string_type":
        return f"model_name must be a string, got {kind(value)}"
    if error["type"] == "string_too_short":
        return "model_name is empty"
    if error["type"] == "string_too_long":
        return f"model_name is {len(value)} characters long; at most {MODEL_NAME_MAX}"
    return f"model_name {value!r} may hold only letters, digits, '_', '-' and '.'"


def _check_predictions(
    checked: Checked, task: TaskFolder, predictions: dict[str, Any], errors: list[ErrorDetails]
) -> None:
    duplicated_units = duplicates_of(predictions)
    if duplicated_units:
        checked.problem(f"units given twice in predictions: {_names(duplicated_units)}")
    missing = [u for u in task.required if u not in predictions]
    if missing:
        checked.problem(
            f"{len(missing)} of {count(len(task.required), 'required ' + task.mode)} missing: "
            f"{_names(missing)}"
        )
    unknown = sorted(u for u in predictions if u not in task.required and u not in task.heldout)
    if unknown:
        checked.problem(
            f"{count(len(unknown), 'unknown ' + task.mode)}: {_names(unknown)} "
            f"(task {task.task_id} has {_names(task.required)})"
        )
    by_unit: dict[str, list[ErrorDetails]] = defaultdict(list)
    for error in errors:
        if error["loc"][0] == "predictions" and len(error["loc"]) > 1:
            by_unit[str(error["loc"][1])].append(error)
    for unit in [*task.required, *task.heldout]:
        if unit in predictions:
            _check_unit(checked, task, unit, predictions[unit], by_unit[unit])


def _check_unit(
    checked: Checked, task: TaskFolder, unit: str, values: Any, errors: list[ErrorDetails]
) -> None:
    if any(len(e["loc"]) == 2 for e in errors):
        checked.problem(
            f"{unit}: expected an object {{sample id: probability}}, got {kind(values)}"
        )
        return
    duplicates = duplicates_of(values)
    if duplicates:
        checked.problem(
            f"{unit}: {count(len(duplicates), 'sample id')} given twice: {_names(duplicates)}"
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
            f"{_names(missing)}"
        )
    extra = sorted(i for i in values if i not in expected_set)
    if extra:
        checked.problem(f"{unit}: {count(len(extra), 'unknown sample id')}: {_names(extra)}")
    for bad, found in bad_values(errors).items():
        listed = shown(f"{e['loc'][2]!r} ({_as_written(bad, e['input'])})" for e in found)
        checked.problem(f"{unit}: {count(len(found), 'value')} {bad}: {listed}")


def _as_written(bad: BadValue, value: Any) -> str:
    """A bad value as the participant wrote it (strings, lists and objects cut short)."""
    if bad is BadValue.NOT_A_NUMBER:
        return json.dumps(value)[:20]
    if bad is BadValue.BOOLEAN:
        return str(value).lower()
    if isinstance(value, Constant):
        return value.token
    return str(value)


def _names(values: list[str]) -> str:
    return shown(repr(v) for v in values)
