"""Cutting samples into folds for ``airlock bundle new``: leave-one-group-out, k-fold or
repeated holdout (stratified for single-label tasks, seeded), or predefined folds from a CSV;
and the checks every fold must pass (both sides non-empty, more than one training class).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from runner.bundle.new.config import CutSplit, NewBundleConfig
from runner.bundle.new.samples import Samples
from runner.bundle.problems import Problem
from runner.bundle.spec import SplitKind
from runner.bundle.tables import read_table
from runner.bundle.write import FoldSplit
from runner.task_types import TaskType


def _fold_id(text: str) -> str:
    """A fold id from a group value: letters, digits and . _ @ - only."""
    cleaned = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("_") or "group"
    return cleaned[:100]


def cut_folds(
    config: NewBundleConfig,
    split: CutSplit,
    samples: Samples,
    labels: np.ndarray,
    *,
    base: Path,
    problems: list[Problem],
) -> list[FoldSplit]:
    """The folds ``split`` cuts; problems (an unknown group, an impossible cut) are added to
    ``problems`` and leave no folds."""
    if split.kind is SplitKind.LEAVE_ONE_GROUP_OUT:
        return _by_group(split.group or config.group or "", samples, base, problems)
    if split.kind in (SplitKind.KFOLD, SplitKind.REPEATED_HOLDOUT):
        single = config.task_type is not TaskType.MULTILABEL
        return _by_sampling(
            split, len(samples.ids), labels, single=single, base=base, problems=problems
        )
    return _predefined(base / (split.file or ""), samples, problems)


def _by_group(group: str, samples: Samples, base: Path, problems: list[Problem]) -> list[FoldSplit]:
    """Leave-one-group-out: one fold per value of the meta column ``group``."""
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


def _by_sampling(
    split: CutSplit,
    n: int,
    labels: np.ndarray,
    *,
    single: bool,
    base: Path,
    problems: list[Problem],
) -> list[FoldSplit]:
    """K-fold or repeated holdout, seeded; stratified when asked and single-label."""
    from sklearn.model_selection import (
        KFold,
        ShuffleSplit,
        StratifiedKFold,
        StratifiedShuffleSplit,
    )

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


def _predefined(path: Path, samples: Samples, problems: list[Problem]) -> list[FoldSplit]:
    """Folds from a CSV: ``id,<fold>...`` with cells ``train``, ``test`` or empty."""
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


def check_folds(
    folds: Sequence[FoldSplit],
    labels: np.ndarray,
    *,
    single: bool,
    where: Path,
    problems: list[Problem],
) -> None:
    """Every fold has training and test samples (and, for single-label tasks, more than
    one training class); fold ids are unique."""
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
