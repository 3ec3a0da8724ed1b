"""Assembling a bundle for ``airlock bundle new``: the sources read and checked, the folds
cut, and the spec, samples and folds to write (a :class:`Plan`); nothing is written until
every source is clean.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from runner.bundle.new.config import NewBundleConfig, read_config
from runner.bundle.new.folds import check_folds, cut_folds
from runner.bundle.new.one_table import read_one_table
from runner.bundle.new.samples import Samples, labels_of, read_sources
from runner.bundle.problems import Problem, SourceProblems
from runner.bundle.spec import BundleSpec, Split, SplitKind
from runner.bundle.tables import read_table
from runner.bundle.write import Dataset, FoldSplit, write_bundle
from runner.task_types import TaskType

HOLDOUT_FOLD = "holdout"


@dataclass(frozen=True)
class Plan:
    """What will be written: the bundle's spec, its samples and its folds, and warnings
    (one line each) about what was left out of the sources."""

    spec: BundleSpec
    data: Dataset
    folds: list[FoldSplit]
    warnings: tuple[str, ...] = ()

    def write(self, out: Path, sealed_out: Path) -> str:
        """Write the bundle to ``out`` and its test labels to ``sealed_out``; return the
        bundle hash. Floats are written with ``repr``, so every value is the one read."""
        return write_bundle(
            out, self.spec, self.data, self.folds, float_format="{!r}", sealed_out=sealed_out
        )


def _classes(
    config: NewBundleConfig, labels: np.ndarray, problems: list[Problem], where: Path
) -> list[str]:
    """The spec's classes: as given, else the label values found, sorted."""
    if config.task_type is TaskType.MULTILABEL:
        return []
    if config.classes:
        return list(config.classes)
    found = sorted(set(labels.tolist()))
    if config.task_type is TaskType.BINARY and len(found) != 2:
        problems.append(Problem(where, f"a binary task needs 2 label values, found {found}"))
    return found


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

    samples: Samples
    labels: np.ndarray
    label_names: list[str]
    folds: list[FoldSplit]
    split: Split
    warnings: tuple[str, ...] = ()


def _from_data(config: NewBundleConfig, base: Path, problems: list[Problem]) -> _Cut:
    """Feature, label and meta files, and a split to cut."""
    assert config.data is not None
    assert config.split is not None
    samples = read_sources(base, config.data, problems)
    if samples is None:
        raise SourceProblems(problems)
    labels, label_names = labels_of(config, config.data.label_column, samples, problems)
    if problems:
        raise SourceProblems(problems)
    folds = cut_folds(config, config.split, samples, labels, base=base, problems=problems)
    split = Split(
        kind=config.split.kind, group=config.split.group, description=config.split.description
    )
    return _Cut(samples, labels, label_names, folds, split)


def _from_table(config: NewBundleConfig, base: Path, where: Path, problems: list[Problem]) -> _Cut:
    """One CSV with every column; the YAML names the columns' roles."""
    assert config.split is not None
    samples, warnings = read_one_table(config, base, where, problems)
    labels, label_names = labels_of(config, config.label, samples, problems)
    if problems:
        raise SourceProblems(problems)
    folds = cut_folds(config, config.split, samples, labels, base=base, problems=problems)
    split = Split(
        kind=config.split.kind,
        group=config.split.group or config.group,
        description=config.split.description,
    )
    return _Cut(samples, labels, label_names, folds, split, tuple(warnings))


def _from_given(config: NewBundleConfig, base: Path, problems: list[Problem]) -> _Cut:
    """Given train and test files: one holdout fold, the training samples first."""
    assert config.train is not None
    assert config.test is not None
    # A labels or meta file named on both sides serves both: its ids are checked over both.
    both = frozenset(
        name
        for name in (config.train.labels, config.train.meta)
        if name and name in (config.test.labels, config.test.meta) and "/" not in name
    )
    train = read_sources(base, config.train, problems, both)
    test = read_sources(base, config.test, problems, both)
    if train is None or test is None:
        raise SourceProblems(problems)
    for name in sorted(both):
        table, _ = read_table(base / name)
        unused = sorted(set(table.ids if table else []) - {*train.ids, *test.ids})
        if unused:
            problems.append(
                Problem(base / name, f"{len(unused)} ids have no features: {unused[:5]}")
            )
    train_labels, label_names = labels_of(config, config.train.label_column, train, problems)
    test_labels, test_label_names = labels_of(config, config.test.label_column, test, problems)
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
    samples = Samples(
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
    check_folds(cut.folds, cut.labels, single=single, where=config_path, problems=problems)
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
            isolation=config.isolation,
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
