"""``airlock bundle new``: any tabular task (CSV files and a small YAML) as a bundle.

Three ways to give the samples:

* ``table:``, one CSV holding every column, with the roles of its columns named in the YAML
  (``label`` or ``labels``, ``group``, ``features``, ``meta``), and a ``split:`` to cut.
* ``data:`` tables (features, labels, optional meta) and a ``split:`` to cut.
* ``train:`` and ``test:`` tables: the split is given; one fold, ``holdout``.

A split to cut is leave-one-group-out (a meta column), k-fold or repeated holdout
(stratified for single-label tasks, seeded), or predefined folds from a CSV (``id,<fold>...``
with cells ``train``, ``test`` or empty).

Reading and checking the sources is pure logic and reports every problem as one line with
its file, line and column (an unknown YAML key with the nearest valid one); nothing is
written until the sources are clean.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from runner.bundle.problems import Problem
from runner.bundle.spec import (
    BundleSpec,
    Metrics,
    Resources,
    Split,
    SplitKind,
    TimeLimits,
)
from runner.bundle.tables import MISSING_TOKENS, Table, numeric_matrix, read_table
from runner.bundle.write import Dataset, FoldSplit
from runner.task_types import TaskType

HOLDOUT_FOLD = "holdout"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceTables(_Strict):
    """CSV files whose first column is the sample id (paths relative to the YAML)."""

    features: str
    labels: str
    meta: str | None = None
    label_column: str | None = Field(
        default=None, description="Single-label tasks: the label column (default: the only one)."
    )


class CutSplit(_Strict):
    """How to cut ``data`` into folds."""

    kind: SplitKind
    group: str | None = Field(default=None, description="leave-one-group-out: the meta column.")
    k: Annotated[int, Field(ge=2)] = 5
    repeats: Annotated[int, Field(ge=1)] = 5
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    seed: int = 0
    stratify: bool = True
    file: str | None = Field(default=None, description="predefined: id,<fold>... train/test.")
    description: str = ""

    @model_validator(mode="after")
    def _needs(self) -> CutSplit:
        if self.kind is SplitKind.PREDEFINED and not self.file:
            raise ValueError("split kind predefined needs 'file' (id,<fold>... train/test)")
        return self


class NewBundleConfig(_Strict):
    """The YAML of ``airlock bundle new``: bundle.yaml's task fields plus the sources."""

    id: str
    title: str
    description: str = ""
    source: str = ""
    synthetic: bool = False
    task_type: TaskType
    classes: list[str] | None = Field(
        default=None, description="Default: the label values found, sorted."
    )
    positive_class: str | None = None
    labels: list[str] | None = Field(
        default=None, description="Multilabel: default every label column."
    )
    metrics: Metrics
    time_limits: TimeLimits = Field(default_factory=TimeLimits)
    resources: Resources = Field(default_factory=Resources)
    data: SourceTables | None = None
    split: CutSplit | None = None
    train: SourceTables | None = None
    test: SourceTables | None = None
    table: str | None = Field(
        default=None,
        description="One CSV holding every column: the sample id first, then features, "
        "label(s), group and meta columns, their roles named by the keys below.",
    )
    label: str | None = Field(default=None, description="table: the label column.")
    group: str | None = Field(
        default=None,
        description="table: the group column (given as meta; leave-one-group-out's default).",
    )
    features: list[str] | None = Field(
        default=None, description="table: the feature columns (default: every other numeric one)."
    )
    meta: list[str] | None = Field(
        default=None, description="table: text columns given to the submission as metadata."
    )

    @model_validator(mode="after")
    def _one_source_shape(self) -> NewBundleConfig:
        sources = [self.data is not None, self.table is not None, self.train is not None]
        given = self.train is not None and self.test is not None
        if sum(sources) != 1 or (self.data is None and self.table is None) != (self.split is None):
            raise ValueError(
                "give either 'data' and 'split', or 'train' and 'test', or 'table' and 'split'"
            )
        if self.train is not None and not given:
            raise ValueError("'train' needs 'test' (or give 'data' or 'table' and a 'split')")
        if self.table is None:
            named = [k for k in ("label", "group", "features", "meta") if getattr(self, k)]
            if named:
                raise ValueError(
                    f"{', '.join(map(repr, named))} name columns of 'table'; with several "
                    "files use label_column in data/train/test and split.group"
                )
        else:
            multilabel = self.task_type is TaskType.MULTILABEL
            if multilabel and (self.label or not self.labels):
                raise ValueError("a multilabel table names its label columns in 'labels: [...]'")
            if not multilabel and not self.label:
                raise ValueError(f"a {self.task_type} table names its label column in 'label'")
        split = self.split
        logo = split is not None and split.kind is SplitKind.LEAVE_ONE_GROUP_OUT
        if logo and not ((split.group if split else None) or self.group):
            raise ValueError(
                "split kind leave-one-group-out needs 'split.group' (a meta column)"
                + (" or 'group'" if self.table else "")
            )
        return self


class SourceProblems(Exception):
    """The sources cannot make a bundle; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else "invalid sources")
        self.problems = problems


@dataclass(frozen=True)
class Plan:
    """What will be written: the bundle's spec, its samples and its folds, and warnings
    (one line each) about what was left out of the sources."""

    spec: BundleSpec
    data: Dataset
    folds: list[FoldSplit]
    warnings: tuple[str, ...] = ()


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``SourceTables | None`` -> SourceTables)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
        for arg in typing.get_args(annotation):
            if (found := _model_in(arg)) is not None:
                return found
    return None


def _keys_at(loc: Sequence[str | int]) -> list[str]:
    """The valid keys of the mapping at ``loc`` in the YAML (empty when unknown)."""
    model: type[BaseModel] = NewBundleConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        sub = _model_in(field.annotation) if field is not None else None
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def nearest(word: str, choices: Sequence[str]) -> str | None:
    """The choice a typo most likely meant: difflib's ratio, averaged with the ratio of the
    sorted letters so that swapped letters ('lable') count as close ('label', not 'table')."""

    def score(choice: str) -> float:
        ratio = difflib.SequenceMatcher(None, word, choice).ratio()
        swapped = difflib.SequenceMatcher(None, sorted(word), sorted(choice)).ratio()
        return (ratio + swapped) / 2

    best = max(choices, key=score, default=None)
    return best if best is not None and score(best) >= 0.6 else None


def _unknown_key(loc: Sequence[str | int]) -> str:
    *parent, key = loc
    dotted = ".".join(str(part) for part in loc)
    prefix = "".join(f"{part}." for part in parent if isinstance(part, str))
    valid = _keys_at(parent)
    guess = nearest(str(key), valid)
    if guess is not None:
        return f"unknown key {dotted!r} (did you mean {prefix + guess!r}?)"
    return f"unknown key {dotted!r}; valid keys here: {', '.join(valid)}"


def _key_lines(path: Path, text: str) -> dict[tuple[str | int, ...], int]:
    """The 1-based line of every mapping key and list item in the YAML, by location."""
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(node: yaml.Node, loc: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                where = (*loc, str(key.value))
                lines[where] = key.start_mark.line + 1
                walk(value, where)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*loc, index)] = item.start_mark.line + 1
                walk(item, (*loc, index))

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def read_config(path: Path) -> NewBundleConfig:
    """Parse the YAML; raise SourceProblems with one line per field error."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except OSError as exc:
        raise SourceProblems([Problem(path, f"cannot be read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise SourceProblems(
            [Problem(path, f"not valid YAML: {exc}".splitlines()[0], line)]
        ) from None
    if not isinstance(raw, dict):
        raise SourceProblems([Problem(path, "expected a mapping of bundle fields")])
    try:
        return NewBundleConfig.model_validate(raw)
    except ValidationError as exc:
        lines = _key_lines(path, text)
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = _unknown_key(loc)
            elif loc:
                message = f"{'.'.join(str(part) for part in loc)}: {message}"
            problems.append(Problem(path, message, line))
        raise SourceProblems(problems) from None


@dataclass(frozen=True)
class _Samples:
    """One source's tables, aligned on the feature file's ids."""

    ids: list[str]
    feature_names: list[str]
    X: np.ndarray
    label_table: Table
    label_rows: list[list[str]]
    meta_columns: list[str]
    meta: list[list[str]]


def _read_sources(
    base: Path, tables: SourceTables, problems: list[Problem], shared: frozenset[str] = frozenset()
) -> _Samples | None:
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
    return _Samples(
        ids=features.ids,
        feature_names=features.columns,
        X=X,
        label_table=labels,
        label_rows=[by_id_labels[i] for i in features.ids],
        meta_columns=meta.columns if meta is not None else [],
        meta=[by_id_meta[i] for i in features.ids] if by_id_meta is not None else [[]] * len(X),
    )


def _labels(
    config: NewBundleConfig,
    label_column: str | None,
    samples: _Samples,
    problems: list[Problem],
) -> tuple[np.ndarray, list[str]]:
    """The label array (class names, or a 0/1 matrix) and the label column names."""
    table = samples.label_table
    if config.task_type is TaskType.MULTILABEL:
        names = config.labels or table.columns
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


def _fold_id(text: str) -> str:
    """A fold id from a group value: letters, digits and . _ @ - only."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("_") or "group"
    return cleaned[:100]


def _cut(
    config: NewBundleConfig,
    split: CutSplit,
    samples: _Samples,
    labels: np.ndarray,
    *,
    base: Path,
    problems: list[Problem],
) -> list[FoldSplit]:
    from sklearn.model_selection import (
        KFold,
        ShuffleSplit,
        StratifiedKFold,
        StratifiedShuffleSplit,
    )

    n = len(samples.ids)
    single = config.task_type is not TaskType.MULTILABEL
    if split.kind is SplitKind.LEAVE_ONE_GROUP_OUT:
        group = split.group or config.group or ""
        if group not in samples.meta_columns:
            problems.append(
                Problem(base, f"split.group {group!r} is not a meta column {samples.meta_columns}")
            )
            return []
        values = np.array([row[samples.meta_columns.index(group)] for row in samples.meta])
        return [
            FoldSplit(
                _fold_id(f"{group}_{v}"), np.flatnonzero(values != v), np.flatnonzero(values == v)
            )
            for v in sorted(set(values.tolist()))
        ]
    if split.kind in (SplitKind.KFOLD, SplitKind.REPEATED_HOLDOUT):
        stratified = split.stratify and single
        cutter: Any
        if split.kind is SplitKind.KFOLD:
            cutter = (StratifiedKFold if stratified else KFold)(
                n_splits=split.k, shuffle=True, random_state=split.seed
            )
            prefix, what = "fold", f"{split.k} folds"
        else:
            cutter = (StratifiedShuffleSplit if stratified else ShuffleSplit)(
                n_splits=split.repeats, test_size=split.test_fraction, random_state=split.seed
            )
            prefix, what = "rep", "holdouts"
        try:
            pieces = list(cutter.split(np.zeros(n), labels if stratified else np.zeros(n)))
        except ValueError as exc:
            problems.append(Problem(base, f"split: cannot cut {what}: {exc}"))
            return []
        return [
            FoldSplit(f"{prefix}{i}", np.sort(train), np.sort(test))
            for i, (train, test) in enumerate(pieces)
        ]
    return _predefined(base / (split.file or ""), samples, problems)


def _predefined(path: Path, samples: _Samples, problems: list[Problem]) -> list[FoldSplit]:
    table, found = read_table(path)
    problems.extend(found)
    if table is None or found:
        return []
    position = {sample_id: i for i, sample_id in enumerate(samples.ids)}
    unknown = [i for i in table.ids if i not in position]
    if unknown:
        problems.append(Problem(path, f"{len(unknown)} ids have no features: {unknown[:5]}"))
        return []
    folds = []
    for j, fold in enumerate(table.columns):
        train, test = [], []
        for sample_id, row, line in zip(table.ids, table.rows, table.lines, strict=True):
            role = row[j].strip().lower()
            if role == "train":
                train.append(position[sample_id])
            elif role == "test":
                test.append(position[sample_id])
            elif role != "":
                problems.append(
                    Problem(path, f"expected train, test or empty, found {row[j]!r}", line, fold)
                )
        folds.append(
            FoldSplit(_fold_id(fold), np.array(train, dtype=int), np.array(test, dtype=int))
        )
    return folds


def _classes(
    config: NewBundleConfig, labels: np.ndarray, problems: list[Problem], where: Path
) -> list[str]:
    if config.task_type is TaskType.MULTILABEL:
        return []
    if config.classes:
        return list(config.classes)
    found = sorted(set(labels.tolist()))
    if config.task_type is TaskType.BINARY and len(found) != 2:
        problems.append(Problem(where, f"a binary task needs 2 label values, found {found}"))
    return found


def _check_folds(
    folds: Sequence[FoldSplit],
    labels: np.ndarray,
    *,
    single: bool,
    where: Path,
    problems: list[Problem],
) -> None:
    for fold in folds:
        if len(fold.train) == 0 or len(fold.test) == 0:
            problems.append(
                Problem(
                    where,
                    f"fold {fold.id!r} has {len(fold.train)} training and "
                    f"{len(fold.test)} test samples; both must be above 0",
                )
            )
        elif single and len(set(labels[fold.train].tolist())) < 2:
            problems.append(
                Problem(where, f"fold {fold.id!r}: its training samples hold a single class")
            )
    if len({fold.id for fold in folds}) != len(folds):
        problems.append(Problem(where, f"fold ids collide: {[f.id for f in folds]}"))


def _source_hashes(config_path: Path, config: NewBundleConfig) -> dict[str, str]:
    """sha256 of the YAML and every CSV the bundle was built from (provenance)."""
    names = [config_path.name, *([config.table] if config.table else [])]
    for tables in (config.data, config.train, config.test):
        if tables is not None:
            names += [n for n in (tables.features, tables.labels, tables.meta) if n]
    if config.split is not None and config.split.file:
        names.append(config.split.file)
    base = config_path.parent
    return {
        name: "sha256:" + hashlib.sha256((base / name).read_bytes()).hexdigest()
        for name in dict.fromkeys(names)
    }


@dataclass(frozen=True)
class _Cut:
    """The samples (training side first for given splits), their labels and the folds."""

    samples: _Samples
    labels: np.ndarray
    label_names: list[str]
    folds: list[FoldSplit]
    split: Split
    warnings: tuple[str, ...] = ()


def _from_data(config: NewBundleConfig, base: Path, problems: list[Problem]) -> _Cut:
    assert config.data is not None
    assert config.split is not None
    samples = _read_sources(base, config.data, problems)
    if samples is None:
        raise SourceProblems(problems)
    labels, label_names = _labels(config, config.data.label_column, samples, problems)
    if problems:
        raise SourceProblems(problems)
    folds = _cut(config, config.split, samples, labels, base=base, problems=problems)
    split = Split(
        kind=config.split.kind, group=config.split.group, description=config.split.description
    )
    return _Cut(samples, labels, label_names, folds, split)


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


def _from_table(config: NewBundleConfig, base: Path, where: Path, problems: list[Problem]) -> _Cut:
    """One CSV with every column; the YAML names the columns' roles."""
    assert config.table is not None
    assert config.split is not None
    table, found = read_table(base / config.table)
    problems.extend(found)
    if table is None or found:
        raise SourceProblems(problems)
    roles = _roles(config, table, where, problems)
    if problems:
        raise SourceProblems(problems)
    warnings: list[str] = []
    if config.features is not None:
        feature_names = list(config.features)
    else:
        free = [j for j, name in enumerate(table.columns) if name not in roles]
        numeric = _numeric_columns(table, free)
        feature_names = [table.columns[j] for j in free if j in numeric]
        text = [table.columns[j] for j in free if j not in numeric]
        if text:
            warnings.append(
                str(
                    Problem(
                        table.path,
                        f"{len(text)} column(s) hold text and have no role, so they are left "
                        f"out: {text[:8]}; name them in meta: to give them to the submission, "
                        "or in features: to have each cell checked as a number",
                        1,
                    )
                )
            )
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
    samples = _Samples(
        ids=table.ids,
        feature_names=feature_names,
        X=X,
        label_table=labels_table,
        label_rows=labels_table.rows,
        meta_columns=meta_columns,
        meta=meta.rows,
    )
    labels, label_names = _labels(config, config.label, samples, problems)
    if problems:
        raise SourceProblems(problems)
    folds = _cut(config, config.split, samples, labels, base=base, problems=problems)
    split = Split(
        kind=config.split.kind,
        group=config.split.group or config.group,
        description=config.split.description,
    )
    return _Cut(samples, labels, label_names, folds, split, tuple(warnings))


def _from_given(config: NewBundleConfig, base: Path, problems: list[Problem]) -> _Cut:
    assert config.train is not None
    assert config.test is not None
    # A labels or meta file named on both sides serves both: its ids are checked over both.
    both = frozenset(
        name
        for name in (config.train.labels, config.train.meta)
        if name and name in (config.test.labels, config.test.meta) and "/" not in name
    )
    train = _read_sources(base, config.train, problems, both)
    test = _read_sources(base, config.test, problems, both)
    if train is None or test is None:
        raise SourceProblems(problems)
    for name in sorted(both):
        table, _ = read_table(base / name)
        unused = sorted(set(table.ids if table else []) - {*train.ids, *test.ids})
        if unused:
            problems.append(
                Problem(base / name, f"{len(unused)} ids have no features: {unused[:5]}")
            )
    train_labels, label_names = _labels(config, config.train.label_column, train, problems)
    test_labels, test_label_names = _labels(config, config.test.label_column, test, problems)
    differ = "differ from the training file's"
    if config.task_type is TaskType.MULTILABEL and test_label_names != label_names:
        problems.append(Problem(base / config.test.labels, f"label columns {differ}", 1))
    if train.feature_names != test.feature_names:
        problems.append(Problem(base / config.test.features, f"feature columns {differ}", 1))
    if train.meta_columns != test.meta_columns:
        where = base / (config.test.meta or config.test.features)
        problems.append(Problem(where, f"meta columns {differ}", 1))
    shared = sorted(set(train.ids) & set(test.ids))
    if shared:
        problems.append(
            Problem(
                base / config.test.features,
                f"{len(shared)} test ids are also training ids: {shared[:5]}",
            )
        )
    if problems:
        raise SourceProblems(problems)
    samples = _Samples(
        ids=[*train.ids, *test.ids],
        feature_names=train.feature_names,
        X=np.vstack([train.X, test.X]),
        label_table=train.label_table,
        label_rows=[*train.label_rows, *test.label_rows],
        meta_columns=train.meta_columns,
        meta=[*train.meta, *test.meta],
    )
    n_train, n_all = len(train.ids), len(samples.ids)
    return _Cut(
        samples,
        np.concatenate([train_labels, test_labels]),
        label_names,
        [FoldSplit(HOLDOUT_FOLD, np.arange(n_train), np.arange(n_train, n_all))],
        Split(kind=SplitKind.PREDEFINED, description="the given train and test files"),
    )


def plan_bundle(config_path: Path) -> Plan:
    """Read and check everything; raise SourceProblems listing every problem found."""
    config = read_config(config_path)
    problems: list[Problem] = []
    single = config.task_type is not TaskType.MULTILABEL
    base = config_path.parent
    if config.table is not None:
        cut = _from_table(config, base, config_path, problems)
    elif config.data is not None:
        cut = _from_data(config, base, problems)
    else:
        cut = _from_given(config, base, problems)
    classes = _classes(config, cut.labels, problems, config_path)
    _check_folds(cut.folds, cut.labels, single=single, where=config_path, problems=problems)
    if problems:
        raise SourceProblems(problems)
    try:
        spec = BundleSpec(
            id=config.id,
            title=config.title,
            description=config.description,
            synthetic=config.synthetic,
            source=config.source,
            task_type=config.task_type,
            classes=classes,
            positive_class=config.positive_class,
            labels=cut.label_names if not single else [],
            metrics=config.metrics,
            split=cut.split,
            folds=[fold.id for fold in cut.folds],
            time_limits=config.time_limits,
            resources=config.resources,
            source_files=_source_hashes(config_path, config),
        )
    except ValidationError as exc:
        raise SourceProblems(
            [
                Problem(config_path, str(error["msg"]).removeprefix("Value error, "))
                for error in exc.errors()
            ]
        ) from None
    samples = cut.samples
    data = Dataset(
        ids=samples.ids,
        feature_names=samples.feature_names,
        X=samples.X,
        labels=cut.labels,
        meta_columns=samples.meta_columns,
        meta=samples.meta,
    )
    return Plan(spec, data, cut.folds, cut.warnings)
