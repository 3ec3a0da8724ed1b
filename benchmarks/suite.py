"""Isolation cost on a real suite: LogReg over the 17 SpaceOmicsBench bundles that have data,
through `airlock run --jobs 2` (one sealed container per fold), side by side in the same run
with the same pipeline as a plain in-process serial Python loop over the same folds.

    python benchmarks/suite.py [--bundles DIR] [--variant as-published|corrected]

Without --bundles the bundles are imported from ../shared/data/spaceomicsbench into a
temporary directory first (not timed).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO.parent / "shared" / "data" / "spaceomicsbench"
sys.path[:0] = [str(REPO / "images" / "sdk"), str(REPO / "images" / "baselines")]

from airlock_baselines import Baseline
from airlock_sdk import Task, load_training
from runner.bundle.load import load_bundle


def in_process(bundles: list[Path]) -> float:
    """Fit and predict every fold in this process, one after the other."""
    started = time.perf_counter()
    for path in bundles:
        bundle = load_bundle(path)
        spec = bundle.spec
        benchmark = spec.benchmark
        for fold in bundle.folds:
            test = pd.read_csv(fold.test_x, dtype={0: str}).set_index("id")
            task = Task(
                bundle_id=spec.id,
                fold_id=fold.id,
                task_type=str(spec.task_type),
                classes=spec.classes,
                positive_class=spec.positive_class,
                labels=spec.labels,
                feature_names=list(test.columns),
                meta_columns=[],
                n_train=0,
                n_test=len(test),
                train_dir=fold.train_dir,
                benchmark={"suite": benchmark.suite, "task_id": benchmark.task_id}
                if benchmark
                else None,
            )
            X, y, meta = load_training(task)
            model = Baseline("logreg")
            model.fit(X, y, meta, task)
            prediction = model.predict(test, meta.iloc[:0], task)
            assert len(np.asarray(prediction["proba"])) == len(test)
    return time.perf_counter() - started


def through_airlock(bundles: list[Path], results: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "runner",
        "run",
        "--image",
        "airlock/sample-logreg",
        "--jobs",
        "2",
        "--results",
        str(results),
    ]
    for path in bundles:
        command += ["--bundle", str(path)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundles", type=Path, help="directory of imported SpaceOmicsBench bundles"
    )
    parser.add_argument("--variant", default="as-published", choices=["as-published", "corrected"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.bundles
        if root is None:
            root = Path(scratch) / "bundles"
            flag = ["--as-published"] if args.variant == "as-published" else []
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "runner",
                    "bundle",
                    "import",
                    "spaceomicsbench",
                    "--source",
                    str(SOURCE),
                    "--out",
                    str(root),
                    *flag,
                ],
                check=True,
                capture_output=True,
            )
        bundles = sorted(p for p in root.glob(f"spaceomicsbench-*@{args.variant}") if p.is_dir())
        n_folds = sum(len(load_bundle(p).spec.folds) for p in bundles)
        sealed = through_airlock(bundles, Path(scratch) / "results")
        plain = in_process(bundles)
    print(f"LogReg over {len(bundles)} SpaceOmicsBench bundles ({args.variant}), {n_folds} folds")
    print(f"{'way':<52} {'wall s':>8}")
    print(f"{'in-process serial loop (same pipeline, no isolation)':<52} {plain:>8.1f}")
    print(f"{'airlock run --jobs 2 (a sealed container per fold)':<52} {sealed:>8.1f}")
    print(f"ratio airlock / in-process: {sealed / plain:.2f} (target <= 1.5, goal <= 1.0)")


if __name__ == "__main__":
    main()
