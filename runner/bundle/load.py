"""Loading a bundle from disk: spec, paths, hash, and the arrays a fold needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import ValidationError

from runner.bundle import manifest
from runner.bundle.labels import Labels, parse_labels
from runner.bundle.problems import Problem
from runner.bundle.spec import BundleSpec
from runner.bundle.tables import load_table, numeric_matrix
from runner.errors import BundleError

SPEC_NAME = "bundle.yaml"


@dataclass(frozen=True)
class FoldPaths:
    """Where one fold's files are. Only ``train_dir`` is ever shown to a submission."""

    id: str
    train_dir: Path
    test_dir: Path
    sealed_labels: Path

    @property
    def train_x(self) -> Path:
        return self.train_dir / "X.csv"

    @property
    def train_y(self) -> Path:
        return self.train_dir / "y.csv"

    @property
    def train_meta(self) -> Path:
        return self.train_dir / "meta.csv"

    @property
    def test_x(self) -> Path:
        return self.test_dir / "X.csv"

    @property
    def test_meta(self) -> Path:
        return self.test_dir / "meta.csv"


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: its spec, where it lives, and its identity (the manifest hash)."""

    path: Path
    spec: BundleSpec
    sealed_dir: Path
    hash: str
    manifest: manifest.Manifest

    def fold(self, fold_id: str) -> FoldPaths:
        return FoldPaths(
            id=fold_id,
            train_dir=self.path / "folds" / fold_id / "train",
            test_dir=self.path / "folds" / fold_id / "test",
            sealed_labels=self.sealed_dir / fold_id / "y.csv",
        )

    @property
    def folds(self) -> list[FoldPaths]:
        return [self.fold(fold_id) for fold_id in self.spec.folds]


@dataclass(frozen=True)
class PredictInputs:
    """What the submission is sent for prediction: ids, features and metadata of a fold."""

    ids: list[str]
    feature_names: list[str]
    X: np.ndarray
    meta_columns: list[str]
    meta: list[list[str]]
    n_train: int


def suite_bundles(suite: Path) -> list[Path]:
    """A bundle directory, or a directory of bundle directories (sorted)."""
    if not suite.exists():
        raise BundleError(f"{suite}: does not exist")
    if (suite / "bundle.yaml").is_file():
        return [suite]
    found = (
        sorted(p for p in suite.iterdir() if (p / "bundle.yaml").is_file())
        if suite.is_dir()
        else []
    )
    if not found:
        raise BundleError(f"{suite}: neither a bundle (no bundle.yaml) nor a directory of bundles")
    return found


def read_spec(bundle_dir: Path) -> tuple[BundleSpec | None, list[Problem]]:
    """Parse and validate ``bundle.yaml``; every schema error is its own problem."""
    path = bundle_dir / SPEC_NAME
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [Problem(path, "missing; every bundle needs a bundle.yaml")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(path, f"not valid YAML: {reason}", line)]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, f"cannot be read: {exc}")]
    if not isinstance(raw, dict):
        return None, [Problem(path, "expected a mapping of fields at the top level")]
    try:
        return BundleSpec.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            Problem(path, f"{err['msg']}", column=".".join(map(str, err["loc"])) or None)
            for err in exc.errors()
        ]


def load_bundle(bundle_dir: Path, sealed_dir: Path | None = None, *, verify: bool = True) -> Bundle:
    """Load a bundle for running. With ``verify`` the manifest hashes are checked first.

    Raises:
        BundleError: on the first problem (``airlock bundle validate`` lists them all).
    """
    if not bundle_dir.is_dir():
        raise BundleError(f"{bundle_dir}: not a bundle directory")
    spec, problems = read_spec(bundle_dir)
    if spec is None:
        raise BundleError(str(problems[0]))
    manifest_path = bundle_dir / manifest.MANIFEST_NAME
    parsed, problems = manifest.parse_manifest(manifest_path)
    if verify and not problems:
        problems = manifest.verify_public(bundle_dir, parsed)
    if problems:
        extra = (
            f" (and {len(problems) - 1} more; run `airlock bundle validate`)"
            if len(problems) > 1
            else ""
        )
        stale = any("manifest" in problem.message for problem in problems)
        hint = (
            f"; if you changed the bundle on purpose, run `airlock bundle manifest {bundle_dir}`"
            if stale and manifest_path.is_file()
            else ""
        )
        raise BundleError(f"{problems[0]}{extra}{hint}")
    return Bundle(
        path=bundle_dir,
        spec=spec,
        sealed_dir=sealed_dir if sealed_dir is not None else bundle_dir / manifest.SEALED_DIR_NAME,
        hash=manifest.bundle_hash(manifest_path),
        manifest=parsed,
    )


def load_test_inputs(fold: FoldPaths) -> PredictInputs:
    """Read a fold's test features and metadata (and count its training rows)."""
    x_table = load_table(fold.test_x)
    meta_table = load_table(fold.test_meta)
    values, problems = numeric_matrix(x_table)
    if problems:
        raise BundleError(str(problems[0]))
    if meta_table.ids != x_table.ids:
        raise BundleError(f"{fold.test_meta}: ids differ from {fold.test_x} (run validate)")
    train_ids = load_table(fold.train_y).ids
    return PredictInputs(
        ids=x_table.ids,
        feature_names=x_table.columns,
        X=values,
        meta_columns=meta_table.columns,
        meta=meta_table.rows,
        n_train=len(train_ids),
    )


def load_sealed_labels(bundle: Bundle, fold: FoldPaths) -> Labels:
    """Read a fold's sealed labels; only the scoring step in the runner process calls this."""
    table = load_table(fold.sealed_labels)
    labels, problems = parse_labels(table, bundle.spec)
    if labels is None:
        raise BundleError(str(problems[0]))
    return labels
