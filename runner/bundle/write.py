"""Writing a bundle directory from arrays: used by the synthetic generator and importers.

The bundle is assembled in a sibling temporary directory and renamed into place, so an
interrupted write never leaves a half-bundle that looks whole.
"""

from __future__ import annotations

import csv
import math
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from runner.bundle import manifest
from runner.bundle.load import SPEC_NAME
from runner.bundle.spec import BundleSpec
from runner.task_types import TaskType


@dataclass(frozen=True)
class FoldSplit:
    """Row positions of one fold. Test rows are written in the order given."""

    id: str
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Dataset:
    """Every sample of a task: features, labels and metadata, row-aligned with ``ids``.

    ``labels`` holds class names (binary/multiclass, shape (n,)) or a 0/1 matrix
    (multilabel, shape (n, n_labels)).
    """

    ids: Sequence[str]
    feature_names: Sequence[str]
    X: np.ndarray
    labels: np.ndarray
    meta_columns: Sequence[str]
    meta: Sequence[Sequence[str]]


def _write_csv(path: Path, header: Sequence[str], rows: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)  # type: ignore[arg-type]


def write_bundle(
    out: Path,
    spec: BundleSpec,
    data: Dataset,
    folds: Sequence[FoldSplit],
    *,
    float_format: str = "{:.4g}",
    salt: bytes | None = None,
    sealed_out: Path | None = None,
) -> str:
    """Write ``spec`` + ``data`` + ``folds`` as a bundle at ``out``; return the bundle hash.

    Sealed labels go to ``out/sealed`` unless ``sealed_out`` puts them elsewhere.
    """
    if [f.id for f in folds] != spec.folds:
        raise ValueError(f"fold ids {[f.id for f in folds]} differ from the spec's {spec.folds}")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the container user must read train/
    sealed_staging = staging / manifest.SEALED_DIR_NAME
    try:
        (staging / SPEC_NAME).write_text(
            yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        )
        _write_folds(staging, sealed_staging, spec, data, folds, float_format=float_format)
        manifest.write_salt(sealed_staging, salt)
        bundle_hash = manifest.write_manifest(staging, sealed_staging, spec.folds)
        _owner_only(sealed_staging)
        _move_into_place(staging, out, sealed_staging, sealed_out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return bundle_hash


def _write_folds(
    staging: Path,
    sealed_staging: Path,
    spec: BundleSpec,
    data: Dataset,
    folds: Sequence[FoldSplit],
    *,
    float_format: str,
) -> None:
    """Each fold's train/ and test/ tables; the test labels go to ``sealed_staging``."""
    text_x = [
        ["" if math.isnan(v) else float_format.format(v) for v in row] for row in data.X.tolist()
    ]
    label_header, label_rows = _label_rows(spec, data.labels)
    for fold in folds:
        base = staging / "folds" / fold.id
        for part, rows in (("train", fold.train), ("test", fold.test)):
            ids = [data.ids[i] for i in rows]
            _write_csv(
                base / part / "X.csv",
                ["id", *data.feature_names],
                ([i, *text_x[r]] for i, r in zip(ids, rows, strict=True)),
            )
            _write_csv(
                base / part / "meta.csv",
                ["id", *data.meta_columns],
                ([i, *data.meta[r]] for i, r in zip(ids, rows, strict=True)),
            )
            target = (
                base / part / "y.csv" if part == "train" else sealed_staging / fold.id / "y.csv"
            )
            _write_csv(
                target,
                ["id", *label_header],
                ([i, *label_rows[r]] for i, r in zip(ids, rows, strict=True)),
            )


def _move_into_place(
    staging: Path, out: Path, sealed_staging: Path, sealed_out: Path | None
) -> None:
    """Replace ``out`` (and ``sealed_out``) with the finished staging directories."""
    if sealed_out is not None:
        if sealed_out.exists():
            shutil.rmtree(sealed_out)
        sealed_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(sealed_staging), sealed_out)
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)


def _owner_only(sealed_dir: Path) -> None:
    """Sealed labels and the salt readable by their owner alone (other users of the machine,
    and the container's user, must not read them)."""
    for path in [sealed_dir, *sealed_dir.rglob("*")]:
        path.chmod(0o700 if path.is_dir() else 0o600)


def _label_rows(spec: BundleSpec, labels: np.ndarray) -> tuple[list[str], list[list[str]]]:
    if spec.task_type is TaskType.MULTILABEL:
        return list(spec.labels), [[str(int(v)) for v in row] for row in labels]
    return ["label"], [[str(v)] for v in labels]
