"""Samples from the ``data:``, ``train:`` or ``test:`` tables of ``airlock bundle new``:
features, labels and meta aligned on the feature file's ids, and the labels checked against
the task type. Every problem is one line with its file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runner.bundle.new.config import NewBundleConfig, SourceTables
from runner.bundle.problems import Problem
from runner.bundle.tables import Table, numeric_matrix, read_table
from runner.task_types import TaskType


@dataclass(frozen=True)
class Samples:
    """One source's tables, aligned on the feature file's ids."""

    ids: list[str]
    feature_names: list[str]
    X: np.ndarray
    label_table: Table
    label_rows: list[list[str]]
    meta_columns: list[str]
    meta: list[list[str]]


def read_sources(
    base: Path, tables: SourceTables, problems: list[Problem], shared: frozenset[str] = frozenset()
) -> Samples | None:
    """Read one side's tables. Files named in ``shared`` also serve the other side, so ids
    of theirs without features here are not errors (checked over both sides instead)."""

    def read(name: str) -> Table | None:
        table, found = read_table(base / name)
        problems.extend(found)
        return table if not found else None

    features = read(tables.features)
    labels = read(tables.labels)
    meta = read(tables.meta) if tables.meta else None
    if features is None or labels is None or (tables.meta and meta is None):
        return None
    X, cell_problems = numeric_matrix(features)
    problems.extend(cell_problems)
    by_id_labels = dict(zip(labels.ids, labels.rows, strict=True))
    by_id_meta = dict(zip(meta.ids, meta.rows, strict=True)) if meta is not None else None
    for other, lookup in ((labels, by_id_labels), (meta, by_id_meta)):
        if other is None or lookup is None:
            continue
        missing = [i for i in features.ids if i not in lookup]
        shared_file = other.path.name in shared and other.path.parent == base
        extra = [] if shared_file else sorted(set(other.ids) - set(features.ids))
        if missing:
            problems.append(
                Problem(other.path, f"{len(missing)} feature ids are missing here: {missing[:5]}")
            )
        if extra:
            problems.append(
                Problem(
                    other.path,
                    f"{len(extra)} ids have no features in {features.path.name}: {extra[:5]}",
                )
            )
    if problems:
        return None
    return Samples(
        ids=features.ids,
        feature_names=features.columns,
        X=X,
        label_table=labels,
        label_rows=[by_id_labels[i] for i in features.ids],
        meta_columns=meta.columns if meta is not None else [],
        meta=[by_id_meta[i] for i in features.ids] if by_id_meta is not None else [[]] * len(X),
    )


def labels_of(
    config: NewBundleConfig,
    label_column: str | None,
    samples: Samples,
    problems: list[Problem],
) -> tuple[np.ndarray, list[str]]:
    """The label array (class names, or a 0/1 matrix) and the label column names."""
    if config.task_type is TaskType.MULTILABEL:
        return _label_matrix(config.labels or samples.label_table.columns, samples, problems)
    return _class_labels(config, label_column, samples, problems)


def _label_matrix(
    names: list[str], samples: Samples, problems: list[Problem]
) -> tuple[np.ndarray, list[str]]:
    """Multilabel: the 0/1 matrix of the ``names`` columns."""
    table = samples.label_table
    absent = [n for n in names if n not in table.columns]
    if absent:
        problems.append(Problem(table.path, f"label columns {absent} are missing", 1))
        return np.empty(0), names
    positions = [table.columns.index(n) for n in names]
    by_id = dict(zip(table.ids, table.lines, strict=True))
    matrix = np.zeros((len(samples.ids), len(names)), dtype=np.int8)
    for row_number, (sample_id, row) in enumerate(
        zip(samples.ids, samples.label_rows, strict=True)
    ):
        for j, position in enumerate(positions):
            cell = row[position]
            if cell not in ("0", "1"):
                problems.append(
                    Problem(
                        table.path,
                        f"expected 0 or 1, found {cell[:40]!r}",
                        by_id[sample_id],
                        names[j],
                    )
                )
                if len(problems) > 10:
                    return matrix, names
            else:
                matrix[row_number, j] = int(cell)
    return matrix, names


def _class_labels(
    config: NewBundleConfig,
    label_column: str | None,
    samples: Samples,
    problems: list[Problem],
) -> tuple[np.ndarray, list[str]]:
    """Single-label: the class names of the label column (the only one, unless named)."""
    table = samples.label_table
    column = label_column
    if column is None:
        if len(table.columns) != 1:
            problems.append(
                Problem(
                    table.path,
                    f"several label columns {table.columns}; name one with label_column",
                    1,
                )
            )
            return np.empty(0), []
        column = table.columns[0]
    if column not in table.columns:
        problems.append(Problem(table.path, f"label column {column!r} is missing", 1))
        return np.empty(0), []
    position = table.columns.index(column)
    values = np.array([row[position] for row in samples.label_rows], dtype=object)
    by_id = dict(zip(table.ids, table.lines, strict=True))
    allowed = set(config.classes) if config.classes else None
    for sample_id, value in zip(samples.ids, values, strict=True):
        if value.strip() == "" or (allowed is not None and value not in allowed):
            expected = f"one of {sorted(allowed)}" if allowed else "a class name"
            problems.append(
                Problem(
                    table.path, f"expected {expected}, found {value!r}", by_id[sample_id], column
                )
            )
            if len(problems) > 10:
                break
    return values, [column]
