"""What gVisor costs: the same folds under runc and under runsc (`airlock run --runtime`),
interleaved in one run (the machine is noisy, so the ratios are what to read).

    python benchmarks/runtimes.py [--rounds 3] [--skip-real]

1. Per-fold overhead: the no-op submission (tests/fixtures/behave, standard-library Python
   with constant predictions) on synth-loco-3class: fold wall time as the runner records it.
2. A real bundle: SpaceOmicsBench D1 imported from ../shared/data (skipped when absent) with
   the logistic-regression sample (the scientific stack: numpy, scipy, scikit-learn): run
   wall time, fold CPU and peak memory, and whether the scores are equal bit for bit.

The runsc entry's platform is printed with the figures: ptrace (what scripts/ensure-gvisor.sh
sets up on hosts without usable KVM) intercepts every system call of the submission; on a
KVM-capable host --platform=kvm is faster.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from overhead import NOOP, build_noop

SHARED = REPO.parent / "shared" / "data" / "spaceomicsbench"
RUNTIMES = ("runc", "runsc")


def airlock_run(image: str, bundle: Path, runtime: str, results: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", "--image", image, "--bundle", str(bundle),
         "--runtime", runtime, "--results", str(results), "-q"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"airlock run --runtime {runtime} failed: {done.stderr.strip()[-500:]}")
    (result_file,) = results.glob("*/*/result.json")
    return wall, json.loads(result_file.read_text())


def platform_of(runtime: str) -> str:
    info = subprocess.run(
        ["docker", "info", "--format", "{{json .Runtimes}}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    entry = json.loads(info.stdout).get(runtime) or {}
    return " ".join(entry.get("runtimeArgs") or []) or "(no arguments)"


def per_fold(rounds: int, scratch: Path) -> None:
    build_noop()
    bundle = REPO / "task_bundles" / "synth-loco-3class"
    walls: dict[str, list[float]] = {r: [] for r in RUNTIMES}
    for number in range(rounds):
        for runtime in RUNTIMES:
            _, result = airlock_run(NOOP, bundle, runtime, scratch / f"noop-{runtime}-{number}")
            walls[runtime] += [f["resources"]["wall_seconds"] for f in result["folds"]]
    base = statistics.median(walls["runc"])
    print(f"1. no-op submission, {bundle.name}: {len(walls['runc'])} folds per runtime")
    print(f"   {'runtime':<8} {'fold wall s (median)':>21} {'ratio':>6}")
    for runtime in RUNTIMES:
        value = statistics.median(walls[runtime])
        print(f"   {runtime:<8} {value:>21.2f} {value / base:>6.2f}")


def real_bundle(rounds: int, scratch: Path) -> None:
    if not SHARED.is_dir():
        print(f"2. real bundle: skipped ({SHARED} is absent)")
        return
    out = scratch / "bundles"
    subprocess.run(
        [sys.executable, "-m", "runner", "bundle", "import", "spaceomicsbench", "--source",
         str(SHARED), "--out", str(out), "--tasks", "D1"],
        capture_output=True, check=True,
    )  # fmt: skip
    (bundle,) = [p for p in out.iterdir() if p.is_dir() and p.name.endswith("D1@corrected")]
    image = "airlock/sample-logreg"
    measured: dict[str, dict[str, list[float]]] = {
        r: {"wall": [], "cpu": [], "peak": []} for r in RUNTIMES
    }
    metrics: dict[str, list[Any]] = {}
    for number in range(rounds):
        for runtime in RUNTIMES:
            wall, result = airlock_run(image, bundle, runtime, scratch / f"real-{runtime}-{number}")
            folds = result["folds"]
            measured[runtime]["wall"].append(wall)
            measured[runtime]["cpu"].append(sum(f["resources"]["cpu_seconds"] for f in folds))
            peak = max(f["resources"]["peak_memory_bytes"] for f in folds)
            measured[runtime]["peak"].append(peak)
            metrics[runtime] = [f["metrics"] for f in folds]
    base = {k: statistics.median(v) for k, v in measured["runc"].items()}
    print(f"2. {bundle.name} ({len(metrics['runc'])} folds), {image}, {rounds} rounds")
    print(f"   {'runtime':<8} {'run wall s':>10} {'ratio':>6} {'fold CPU s':>11} {'ratio':>6} "
          f"{'peak MiB':>9}")  # fmt: skip
    for runtime in RUNTIMES:
        m = {k: statistics.median(v) for k, v in measured[runtime].items()}
        wall, cpu = m["wall"], m["cpu"]
        print(f"   {runtime:<8} {wall:>10.1f} {wall / base['wall']:>6.2f} "
              f"{cpu:>11.1f} {cpu / base['cpu']:>6.2f} {m['peak'] / 2**20:>9.0f}")  # fmt: skip
    same = metrics["runc"] == metrics["runsc"]
    print(f"   scores equal bit for bit: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-real", action="store_true", help="Only the per-fold overhead.")
    args = parser.parse_args()
    print(f"runsc: {platform_of('runsc')}")
    with tempfile.TemporaryDirectory() as scratch:
        per_fold(args.rounds, Path(scratch))
        if not args.skip_real:
            real_bundle(args.rounds, Path(scratch))


if __name__ == "__main__":
    main()
