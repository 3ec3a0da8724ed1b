"""``airlock bundle import spaceomicsbench``: one bundle per task and variant."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runner.bundle.manifest import sha256_file
from runner.bundle.write import Dataset, FoldSplit
from runner.scoring.spaceomics import RANDOM_REFERENCE
from runner.suites.bundle_import import hosted_task_fields, write_imported
from runner.suites.spaceomicsbench.features import AS_PUBLISHED, Features, build_features
from runner.suites.spaceomicsbench.truth import TASK_IDS, SourceMissing, TaskTruth, load_task

VERSION = "spaceomicsbench-v2.1"
_METRIC_NAMES = {"per_cluster_auroc": "mean_auroc", "per_label_auroc": "mean_auroc"}
_NOT_PREDICTION_METRICS = {"per_class_f1", "direction_concordance", "confusion_matrix"}
_DEFAULT_SECONDARY = {
    "binary": ["auroc", "auprc", "f1"],
    "multiclass": ["accuracy", "weighted_f1"],
    "multilabel": ["macro_f1", "hamming_loss", "mean_auroc"],
}


@dataclass(frozen=True)
class Imported:
    task_id: str
    variant: str
    path: Path | None
    bundle_hash: str | None
    skipped: str | None = None
    notes: tuple[str, ...] = ()


def bundle_id(task_id: str, variant: str) -> str:
    return f"{VERSION}-{task_id}@{variant}"


def _fold_id(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else {"+": "p"}.get(c, "-") for c in name)


def _metrics(truth: TaskTruth) -> dict[str, object]:
    secondary = []
    for declared in [*truth.secondary_metrics, *_DEFAULT_SECONDARY[truth.task_type]]:
        name = _METRIC_NAMES.get(declared, declared)
        if name in _NOT_PREDICTION_METRICS or name == truth.primary_metric or name in secondary:
            continue
        secondary.append(name)
    return {"primary": truth.primary_metric, "secondary": secondary}


def import_task(
    source: Path,
    out: Path,
    task_id: str,
    variant: str,
    *,
    salt_key: bytes | None = None,
    sealed_out: Path | None = None,
) -> Imported:
    """Build one bundle at ``out/<bundle id>``.

    The sealed labels go to its ``sealed/``, or to ``sealed_out/<bundle id>`` when given.
    The commitment salt is random, or ``keyed_salt(salt_key, [bundle id, source hashes])``
    with an organizer's key, so that a re-import gives the same bundle hash.
    """
    try:
        truth = load_task(source, task_id)
        features = build_features(source, truth, variant)
    except SourceMissing as missing:
        return Imported(task_id, variant, None, None, skipped=str(missing))
    labels = (
        np.array([truth.outputs[int(v)] for v in truth.y])
        if truth.task_type != "multilabel"
        else truth.y
    )
    ids = [f"r{n:05d}" for n in range(len(truth.ids))] if task_id == "H1" else truth.ids
    data = Dataset(ids, features.names, features.X, labels, features.meta_columns, features.meta)
    folds = [FoldSplit(_fold_id(f.name), f.train, f.test) for f in truth.folds]
    target, bundle_hash = write_imported(
        out,
        _spec_fields(source, truth, features, variant),
        data,
        folds,
        salt_key=salt_key,
        sealed_out=sealed_out,
    )
    return Imported(task_id, variant, target, bundle_hash, notes=tuple(features.notes))


def _spec_fields(
    source: Path, truth: TaskTruth, features: Features, variant: str
) -> dict[str, object]:
    """``bundle.yaml`` of one task: its task JSON's name and description, the split file's
    folds, and the hash of every source file the bundle is built from."""
    task_id = truth.task_id
    definition = json.loads((source / "tasks" / f"{task_id}.json").read_text())
    files = sorted({*features.files, f"tasks/{task_id}.json", f"splits/{truth.split}.json"})
    binary = truth.task_type == "binary"
    classes = ["0", "1"] if binary else (truth.outputs if truth.task_type == "multiclass" else [])
    split_kind = (
        "leave-one-group-out" if truth.split.startswith(("loco", "loto")) else "repeated-holdout"
    )
    return {
        "id": bundle_id(task_id, variant),
        "title": f"SpaceOmicsBench {task_id}: {definition.get('task_name', '')}",
        "description": " ".join([definition.get("description", ""), *features.notes]).strip(),
        "source": f"{VERSION} ({variant}); contract: shared/specs/SPACEOMICSBENCH_TASKS.md",
        "source_files": {name: sha256_file(_source_path(source, name)) for name in files},
        "task_type": truth.task_type,
        "classes": classes,
        "positive_class": "1" if binary else None,
        "labels": truth.outputs if truth.task_type == "multilabel" else [],
        "metrics": _metrics(truth),
        "split": {
            "kind": split_kind,
            "group": "crew" if truth.split.startswith("loco") else None,
            "description": f"upstream split file {truth.split}.json, test rows in its order",
        },
        "folds": [_fold_id(f.name) for f in truth.folds],
        **hosted_task_fields(
            "spaceomicsbench",
            task_id,
            variant,
            memory="3GiB",
            random_reference=RANDOM_REFERENCE.get(task_id),
        ),
    }


def _source_path(source: Path, name: str) -> Path:
    if name.startswith(("tasks/", "splits/")):
        return source / name
    return source / "data" / "processed" / name


def import_all(
    source: Path,
    out: Path,
    tasks: list[str],
    variant: str,
    *,
    salt_key: bytes | None = None,
    sealed_out: Path | None = None,
) -> list[Imported]:
    return [
        import_task(source, out, task, variant, salt_key=salt_key, sealed_out=sealed_out)
        for task in tasks
    ]


__all__ = ["AS_PUBLISHED", "TASK_IDS", "Imported", "bundle_id", "import_all", "import_task"]
