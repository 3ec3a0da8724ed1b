"""SpaceOmicsBench harness prediction files: one ``<TASK>.json`` per task,
``{"predictions": [entry for fold 0, entry for fold 1, ...]}`` matched to folds by position.

Entry fields: ``y_score`` (binary: one score in [0, 1] per test row, in split order);
``y_pred`` (multiclass: class names; multilabel: rows of 0/1 per label) and, for
multilabel, an optional ``y_score`` matrix. Each entry is parsed by the strict pydantic
model of its task type; lengths, widths and class names come from the task's truth.
Unlike the upstream harness (which skips missing trailing entries and lets scikit-learn
raise on bad lengths), every problem is reported, one line each, and a task with problems
is not scored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from runner.suites.prediction_json import (
    Probability,
    Unreadable,
    bad_values,
    count,
    kind,
    read_json,
    shown,
)
from runner.suites.spaceomicsbench.truth import TaskTruth


@dataclass
class TaskPredictions:
    """The checked predictions of one task, per fold (None where the task had problems)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    hard: list[np.ndarray] = field(default_factory=list)
    score: list[np.ndarray | None] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.path}: {text}")


@dataclass(frozen=True)
class _Fold:
    """What an entry is checked against: its place in the file and the task's shape."""

    where: str
    n_test: int
    outputs: list[str]


def _known_class(value: str, info: ValidationInfo) -> str:
    if info.context is None or value not in info.context.outputs:
        raise PydanticCustomError("class_name", "not a class name")
    return value


def _label_row(row: list[int], info: ValidationInfo) -> list[int]:
    if info.context is None or len(row) != len(info.context.outputs):
        raise PydanticCustomError("row_width", "not one value per label")
    return row


ZeroOrOne = StrictBool | Annotated[StrictInt, Field(ge=0, le=1)]
"""A multilabel cell: 0 or 1 (``true``/``false`` too, as the harness reads them)."""


class _Strict(BaseModel):
    """No coercion (a string is not a number, 1.0 is not a label); other keys are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class PredictionFile(_Strict):
    """A task's file: the fold entries, in split order (each checked by its task type)."""

    predictions: list[Any]


class BinaryEntry(_Strict):
    """One positive-class score per test row."""

    y_score: list[Probability]


class MulticlassEntry(_Strict):
    """One class name per test row (one of the task's classes)."""

    y_pred: list[Annotated[str, AfterValidator(_known_class)]]


class MultilabelEntry(_Strict):
    """One row of 0/1 per test row, a value per label; optionally the scores behind them."""

    y_pred: list[Annotated[list[ZeroOrOne], AfterValidator(_label_row)]]
    y_score: list[list[Probability]] | None = None


def read_task_predictions(path: Path, truth: TaskTruth) -> TaskPredictions:
    """Parse and check ``path`` against the task's folds; every problem is collected."""
    found = TaskPredictions(path)
    try:
        document = PredictionFile.model_validate(read_json(path))
    except Unreadable as why:
        found.problem(str(why))
        return found
    except ValidationError as invalid:
        error = invalid.errors()[0]
        if error["loc"] == ("predictions",) and error["type"] != "missing":
            found.problem(
                f'"predictions" must be a list (one entry per fold), got {kind(error["input"])}'
            )
        else:
            found.problem('expected an object with a "predictions" list')
        return found
    entries = document.predictions
    if len(entries) != len(truth.folds):
        found.problem(
            f"{len(entries)} prediction entries for the {len(truth.folds)} folds of {truth.split} "
            "(entries are matched to folds by position)"
        )
    model, check = _ENTRIES[truth.task_type]
    for number, (entry, fold) in enumerate(zip(entries, truth.folds, strict=False)):
        context = _Fold(f"fold {number} ({fold.name})", len(fold.test), truth.outputs)
        parsed_entry = _parse_entry(found, model, entry, context)
        if parsed_entry is not None:
            check(found, context, parsed_entry)
    if found.problems:
        found.hard, found.score = [], []
    return found


@dataclass(frozen=True)
class _Parsed:
    """An entry whose main field holds one value per test row: the entry as written, as
    its model (None while a value is invalid), and the validation errors."""

    raw: Any
    model: Any
    errors: list[ErrorDetails]


def _parse_entry(
    found: TaskPredictions, model: type[_Strict], entry: Any, fold: _Fold
) -> _Parsed | None:
    """None (with the problem reported) when the entry is not an object or its main field
    is not a list of one value per test row."""
    name = "y_score" if model is BinaryEntry else "y_pred"
    parsed: _Strict | None = None
    errors: list[ErrorDetails] = []
    try:
        parsed = model.model_validate(entry, context=fold)
    except ValidationError as invalid:
        errors = invalid.errors()
    if errors and errors[0]["loc"] == ():
        found.problem(f"{fold.where}: expected an object, got {kind(entry)}")
        return None
    if any(e["loc"] == (name,) for e in errors):
        found.problem(f"{fold.where}: missing {name!r} (a list of {fold.n_test} values)")
        return None
    if len(entry[name]) != fold.n_test:
        found.problem(
            f"{fold.where}: {name} has {len(entry[name])} values, "
            f"the fold has {fold.n_test} test rows"
        )
        return None
    return _Parsed(entry, parsed, errors)


def _check_binary(found: TaskPredictions, fold: _Fold, entry: _Parsed) -> None:
    if entry.errors:
        _report_values(found, f"{fold.where}: y_score", entry.errors)
        return
    scores = np.asarray(entry.model.y_score, dtype=np.float64)
    found.hard.append((scores >= 0.5).astype(np.int64))
    found.score.append(scores)


def _check_multiclass(found: TaskPredictions, fold: _Fold, entry: _Parsed) -> None:
    if entry.errors:
        rows = _rows(entry.errors)
        found.problem(
            f"{fold.where}: {count(len(rows), 'y_pred value')} not a class name {fold.outputs} "
            f"(rows {_positions(rows)})"
        )
        return
    index = {c: k for k, c in enumerate(fold.outputs)}
    found.hard.append(np.array([index[v] for v in entry.model.y_pred], dtype=np.int64))
    found.score.append(None)


def _check_multilabel(found: TaskPredictions, fold: _Fold, entry: _Parsed) -> None:
    width = len(fold.outputs)
    bad = _rows(e for e in entry.errors if e["loc"][0] == "y_pred")
    if bad:
        found.problem(
            f"{fold.where}: {count(len(bad), 'y_pred row')} not {width} values of 0 or 1 "
            f"(rows {_positions(bad)})"
        )
        return
    found.hard.append(np.array(entry.raw["y_pred"], dtype=np.int64).reshape(fold.n_test, width))
    score = entry.raw.get("y_score")
    if score is None:
        found.score.append(None)
        return
    shape_errors = [e for e in entry.errors if len(e["loc"]) <= 2]
    if shape_errors or len(score) != fold.n_test or any(len(row) != width for row in score):
        found.problem(
            f"{fold.where}: y_score must be {fold.n_test} rows of {width} numbers when given"
        )
        return
    if entry.errors:
        _report_values(found, f"{fold.where}: y_score", entry.errors, width=width)
        return
    found.score.append(
        np.asarray(entry.model.y_score, dtype=np.float64).reshape(fold.n_test, width)
    )


def _rows(errors: Iterable[ErrorDetails]) -> list[int]:
    """The rows the errors are about (``loc[1]``), each once, in order."""
    return list(dict.fromkeys(int(e["loc"][1]) for e in errors))


def _report_values(
    found: TaskPredictions, where: str, errors: list[ErrorDetails], *, width: int | None = None
) -> None:
    """Bad scores by kind, with their positions (in the flattened matrix, given its width)."""
    for bad, listed in bad_values(errors).items():
        rows = [
            int(e["loc"][1]) if width is None else int(e["loc"][1]) * width + int(e["loc"][2])
            for e in listed
        ]
        found.problem(f"{where}: {count(len(rows), 'value')} {bad} (rows {_positions(rows)})")


def _positions(rows: list[int]) -> str:
    return shown(str(r) for r in rows)


_ENTRIES: dict[str, tuple[type[_Strict], Callable[[TaskPredictions, _Fold, _Parsed], None]]] = {
    "binary": (BinaryEntry, _check_binary),
    "multiclass": (MulticlassEntry, _check_multiclass),
    "multilabel": (MultilabelEntry, _check_multilabel),
}
"""Each task type's entry model, and the check that turns a parsed entry into arrays."""
