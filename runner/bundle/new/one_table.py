"""The ``table:`` source of ``airlock bundle new``: one CSV holding every column, the role of
each (label, group, meta, features) named in the YAML, unnamed numeric columns taken as
features and unnamed text columns left out with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from runner.bundle.new.config import NewBundleConfig, nearest
from runner.bundle.new.samples import Samples
from runner.bundle.problems import Problem, SourceProblems
from runner.bundle.tables import MISSING_TOKENS, Table, numeric_matrix, read_table


def _numeric_columns(table: Table, candidates: list[int]) -> set[int]:
    """Positions (in ``table.columns``) of the candidates whose every cell is a number or
    missing."""
    if not table.rows:
        return set(candidates)
    cells = np.array(table.rows, dtype=str)
    missing = list(MISSING_TOKENS)
    numeric = set()
    for j in candidates:
        column = np.where(np.isin(cells[:, j], missing), "nan", cells[:, j])
        try:
            column.astype(np.float64)
        except ValueError:
            continue
        numeric.add(j)
    return numeric


def _columns_of(table: Table, names: Sequence[str]) -> Table:
    """The id column and ``names`` of ``table``, with the same lines."""
    position = {name: j for j, name in enumerate(table.columns)}
    picks = [position[name] for name in names]
    rows = [[row[j] for j in picks] for row in table.rows]
    return Table(table.path, [table.id_column, *names], table.ids, rows, table.lines)


def _roles(
    config: NewBundleConfig, table: Table, where: Path, problems: list[Problem]
) -> dict[str, str]:
    """Each column the YAML names, with its role (label, meta or features)."""
    split_group = config.split.group if config.split else None
    named = [
        ("label", "labels" if config.labels and not config.label else "label",
         [config.label] if config.label else list(config.labels or [])),
        ("meta", "group", [config.group] if config.group else []),
        ("meta", "split.group", [split_group] if split_group else []),
        ("meta", "meta", list(config.meta or [])),
        ("features", "features", list(config.features or [])),
    ]  # fmt: skip
    roles: dict[str, str] = {}
    keys: dict[str, str] = {}
    for role, key, names in named:
        for name in names:
            named_as = f"column {name!r} ({key} in {where.name})"
            if name == table.id_column:
                message = f"{named_as} is the sample id column; name another column"
                problems.append(Problem(table.path, message, 1))
            elif name not in table.columns:
                guess = nearest(name, table.columns)
                hint = f"did you mean {guess!r}?" if guess else f"columns: {table.columns[:8]}"
                problems.append(Problem(table.path, f"{named_as} is missing ({hint})", 1))
            elif role == "features" and keys.get(name) == key:
                problems.append(Problem(where, f"{named_as} is named twice; name it once"))
            elif roles.setdefault(name, role) != role:
                problems.append(
                    Problem(
                        where,
                        f"column {name!r} is named by both {keys[name]} and {key}; "
                        "give each column one role",
                    )
                )
            keys.setdefault(name, key)
    return roles


def read_one_table(
    config: NewBundleConfig, base: Path, where: Path, problems: list[Problem]
) -> tuple[Samples, list[str]]:
    """The samples of the one CSV, its columns split by the roles the YAML (``where``) names,
    and warnings about columns left out. Raises SourceProblems when a column is misnamed or
    no feature column is left; bad feature cells are added to ``problems``."""
    assert config.table is not None
    table, found = read_table(base / config.table)
    problems.extend(found)
    if table is None or found:
        raise SourceProblems(problems)
    roles = _roles(config, table, where, problems)
    if problems:
        raise SourceProblems(problems)
    feature_names, warnings = _feature_columns(config, table, roles)
    if not feature_names:
        problems.append(
            Problem(
                table.path,
                "no feature columns: every column has another role or holds text; "
                f"name them in {where.name} with features: [...]",
                1,
            )
        )
        raise SourceProblems(problems)
    features = _columns_of(table, feature_names)
    X, cell_problems = numeric_matrix(features)
    problems.extend(cell_problems)
    labels_table = _columns_of(table, [c for c in table.columns if roles.get(c) == "label"])
    meta_columns = [c for c in table.columns if roles.get(c) == "meta"]
    meta = _columns_of(table, meta_columns)
    samples = Samples(
        ids=table.ids,
        feature_names=feature_names,
        X=X,
        label_table=labels_table,
        label_rows=labels_table.rows,
        meta_columns=meta_columns,
        meta=meta.rows,
    )
    return samples, warnings


def _feature_columns(
    config: NewBundleConfig, table: Table, roles: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The feature columns (as named, else every numeric column without a role) and a
    warning naming the text columns without a role, which are left out."""
    if config.features is not None:
        return list(config.features), []
    free = [j for j, name in enumerate(table.columns) if name not in roles]
    numeric = _numeric_columns(table, free)
    feature_names = [table.columns[j] for j in free if j in numeric]
    text = [table.columns[j] for j in free if j not in numeric]
    if not text:
        return feature_names, []
    warning = Problem(
        table.path,
        f"{len(text)} column(s) hold text and have no role, so they are left "
        f"out: {text[:8]}; name them in meta: to give them to the submission, "
        "or in features: to have each cell checked as a number",
        1,
    )
    return feature_names, [str(warning)]
