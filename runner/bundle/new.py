"""``airlock bundle new``: any tabular task (CSV files and a small YAML) as a bundle.

Two ways to say where the test rows are:

* ``train:`` and ``test:`` tables: the split is given; one fold, ``holdout``.
* ``data:`` tables and a ``split:`` to cut: leave-one-group-out (a meta column), k-fold or
  repeated holdout (stratified for single-label tasks, seeded), or predefined folds from a
  CSV (``id,<fold>...`` with cells ``train``, ``test`` or empty).

Reading and checking the sources is pure logic and reports every problem as one line with
its file, line and column; nothing is written until the sources are clean.
"""

from __future__ import annotations

import hashlib
import re
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
    TaskType,
    TimeLimits,
)
from runner.bundle.tables import Table, numeric_matrix, read_table
from runner.bundle.write import Dataset, FoldSplit

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
        if self.kind is SplitKind.LEAVE_ONE_GROUP_OUT and not self.group:
            raise ValueError("split kind leave-one-group-out needs 'group' (a meta column)")
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

    @model_validator(mode="after")
    def _one_source_shape(self) -> NewBundleConfig:
        cut = self.data is not None and self.split is not None
        given = self.train is not None and self.test is not None
        if cut == given or (self.data is None) != (self.split is None):
            raise ValueError("give either 'data' and 'split', or 'train' and 'test'")
        return self


class SourceProblems(Exception):
    """The sources cannot make a bundle; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else "invalid sources")
        self.problems = problems


@dataclass(frozen=True)
class Plan:
    """What will be written: the bundle's spec, its samples and its folds."""

    spec: BundleSpec
    data: Dataset
    folds: list[FoldSplit]


def read_config(path: Path) -> NewBundleConfig:
    """Parse the YAML; raise SourceProblems with one line per field error."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(Problem(path, f"{where}: {error['msg']}"))
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
    config: NewBundleConfig, tables: SourceTables, samples: _Samples, problems: list[Problem]
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
    column = tables.label_column
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
        group = split.group or ""
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
    names = [config_path.name]
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


def _from_data(config: NewBundleConfig, base: Path, problems: list[Problem]) -> _Cut:
    assert config.data is not None
    assert config.split is not None
    samples = _read_sources(base, config.data, problems)
    if samples is None:
        raise SourceProblems(problems)
    labels, label_names = _labels(config, config.data, samples, problems)
    if problems:
        raise SourceProblems(problems)
    folds = _cut(config, config.split, samples, labels, base=base, problems=problems)
    split = Split(
        kind=config.split.kind, group=config.split.group, description=config.split.description
    )
    return _Cut(samples, labels, label_names, folds, split)


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
    train_labels, label_names = _labels(config, config.train, train, problems)
    test_labels, test_label_names = _labels(config, config.test, test, problems)
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
    source = _from_data if config.data is not None else _from_given
    cut = source(config, config_path.parent, problems)
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
    return Plan(spec, data, cut.folds)
