"""GeneLab scoring speed: Airlock's batched engine side by side with the naive way (one draw
and one scikit-learn AUROC call per bootstrap/permutation replicate, as the upstream
evaluator does), on the same submissions in one run, checking the numbers are identical.

    python benchmarks/scoring.py [--rounds 3]

Uses the A4 (4 folds) and B4 (12 pairs) baseline submissions from ../shared when present,
otherwise synthetic ones of the same shape. Also times the whole `airlock score genelab`
command (interpreter start included) on the 4-fold submission.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from runner.scoring import genelab

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data" / "genelab"
N_BOOT, N_PERM = 2000, 1000


def naive_unit(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float, float, float]:
    observed = roc_auc_score(labels, scores)
    rng = np.random.default_rng(42)
    boots = []
    for _ in range(N_BOOT):
        idx = rng.integers(0, len(labels), len(labels))
        if len(np.unique(labels[idx])) > 1:
            boots.append(roc_auc_score(labels[idx], scores[idx]))
    rng = np.random.default_rng(42)
    null = np.array([roc_auc_score(rng.permutation(labels), scores) for _ in range(N_PERM)])
    lower = np.percentile(boots, 2.5) if boots else math.nan
    upper = np.percentile(boots, 97.5) if boots else math.nan
    return (
        observed,
        float(lower),
        float(upper),
        float((np.sum(null >= observed) + 1) / (N_PERM + 1)),
    )


def load_units(task_folder: str, submission: str) -> list[tuple[np.ndarray, np.ndarray]]:
    from runner.suites.genelab import read_labels

    predictions = json.loads((SHARED / "evaluation" / submission).read_text())["predictions"]
    units = []
    for unit in sorted(predictions):
        if "holdout" in unit:
            continue
        ids, labels = read_labels(SHARED / "tasks" / task_folder / unit)
        units.append((labels, np.array([predictions[unit][i] for i in ids], dtype=float)))
    return units


def synthetic_units(sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    units = []
    for n in sizes:
        labels = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
        units.append((labels, np.clip(labels * 0.3 + rng.random(n) * 0.7, 0, 1)))
    return units


def timed(function, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - started, value


def score_batched(
    units: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[float, float, float, float]]:
    results = []
    for labels, scores in units:
        u = genelab.unit_stats("u", labels, scores, N_BOOT, N_PERM)
        values = (u.auroc, u.ci_lower, u.ci_upper, u.perm_p)
        results.append(tuple(math.nan if v is None else v for v in values))  # type: ignore[arg-type]
    return results


def score_naive(
    units: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[float, float, float, float]]:
    return [naive_unit(labels, scores) for labels, scores in units]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if (SHARED / "tasks").is_dir():
        cases = {
            "A4 PCA-LR (4 folds)": load_units(
                "A4_thymus_lomo", "submission_PCALR_baseline_A4.json"
            ),
            "B4 PCA-LR (12 pairs)": load_units(
                "B4_thymus_cross_mission", "submission_PCALR_baseline_B4.json"
            ),
        }
    else:
        cases = {
            "synthetic 4 folds": synthetic_units([6, 6, 35, 20]),
            "synthetic 12 pairs": synthetic_units([20] * 12),
        }
    print(
        f"GeneLab statistics, {N_BOOT} bootstrap + {N_PERM} permutation replicates per unit, "
        f"{args.rounds} rounds"
    )
    print(f"{'case':<24} {'naive s':>9} {'batched s':>10} {'speed-up':>9}  identical")
    for name, units in cases.items():
        naive_times, batched_times = [], []
        for _ in range(args.rounds):
            t_naive, naive = timed(score_naive, units)
            t_batched, batched = timed(score_batched, units)
            naive_times.append(t_naive)
            batched_times.append(t_batched)
        identical = all(
            b[0] == n[0]
            and b[3] == n[3]
            and math.isclose(b[1], n[1], abs_tol=1e-12)
            and math.isclose(b[2], n[2], abs_tol=1e-12)
            for b, n in zip(batched, naive, strict=True)
        )
        naive_s, batched_s = statistics.median(naive_times), statistics.median(batched_times)
        print(
            f"{name:<24} {naive_s:>9.3f} {batched_s:>10.3f} "
            f"{naive_s / batched_s:>8.0f}x  {identical}"
        )
    if (SHARED / "tasks").is_dir():
        command = [
            sys.executable,
            "-m",
            "runner",
            "score",
            "genelab",
            str(SHARED / "evaluation" / "submission_PCALR_baseline_A4.json"),
            "--tasks",
            str(SHARED / "tasks"),
        ]
        walls = []
        with tempfile.TemporaryDirectory() as scratch:
            for _ in range(5):
                started = time.perf_counter()
                subprocess.run(
                    [*command, "--output", f"{scratch}/a4.json"], check=True, capture_output=True
                )
                walls.append(time.perf_counter() - started)
        print(
            f"`airlock score genelab` on A4 (4 folds), whole command incl. interpreter start: "
            f"median {statistics.median(walls):.3f} s over 5 runs (target < 0.5 s)"
        )


if __name__ == "__main__":
    main()
