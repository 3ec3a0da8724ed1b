"""Label tables (train ``y.csv`` and sealed ``y.csv``): shape and values for the task type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runner.bundle.problems import Problem
from runner.bundle.spec import BundleSpec
from runner.bundle.tables import MAX_REPORTED, Table
from runner.task_types import TaskType


@dataclass(frozen=True)
class Labels:
    """Labels aligned with ``ids``.

    ``values`` holds class indices into ``spec.classes`` (shape ``(n,)``) for binary and
    multiclass tasks, and a 0/1 matrix (shape ``(n, n_labels)``) for multilabel tasks.
    """

    ids: list[str]
    values: np.ndarray


def parse_labels(table: Table, spec: BundleSpec) -> tuple[Labels | None, list[Problem]]:
    """Check a label table against the task and convert it; None when it cannot be used."""
    if spec.task_type is TaskType.MULTILABEL:
        return _multilabel(table, spec)
    return _single_label(table, spec)


def _single_label(table: Table, spec: BundleSpec) -> tuple[Labels | None, list[Problem]]:
    if len(table.columns) != 1:
        return None, [
            Problem(
                table.path,
                f"expected 2 columns (id, label), found {len(table.header)}: {table.header[:5]}",
                1,
            )
        ]
    index = {name: i for i, name in enumerate(spec.classes)}
    values = np.empty(len(table.ids), dtype=np.int64)
    problems = []
    for row, (cells, line) in enumerate(zip(table.rows, table.lines, strict=True)):
        code = index.get(cells[0])
        if code is None:
            problems.append(
                Problem(
                    table.path,
                    f"label {cells[0]!r} is not one of the declared classes {spec.classes}",
                    line,
                    table.columns[0],
                )
            )
            if len(problems) >= MAX_REPORTED:
                break
            continue
        values[row] = code
    return (None if problems else Labels(table.ids, values)), problems


def _multilabel(table: Table, spec: BundleSpec) -> tuple[Labels | None, list[Problem]]:
    if table.columns != spec.labels:
        return None, [
            Problem(
                table.path,
                f"label columns must be exactly the bundle's labels {spec.labels}, "
                f"found {table.columns}",
                1,
            )
        ]
    cells = np.array(table.rows, dtype=str).reshape(len(table.rows), len(spec.labels))
    bad = ~np.isin(cells, ["0", "1"])
    problems = [
        Problem(
            table.path, f"expected 0 or 1, found {cells[i, j]!r}", table.lines[i], spec.labels[j]
        )
        for i, j in np.argwhere(bad)[:MAX_REPORTED]
    ]
    if problems:
        return None, problems
    return Labels(table.ids, (cells == "1").astype(np.int8)), []
