"""Runner overhead: per-fold wall time of a no-op submission through `airlock run`, side by
side with a bare `docker run --rm <base> true`, interleaved in one run (the machine is
noisy, so only the ratio is meaningful).

    python benchmarks/overhead.py [--rounds 7] [--bundle task_bundles/synth-loco-3class]

The no-op is tests/fixtures/behave (standard-library Python answering the protocol with
constant predictions), so what is measured is the runner: container set-up with every
isolation setting, the protocol round trips, resource sampling, scoring, removal and
result writing. The end-to-end figure also includes the `airlock` process start-up,
spread over the bundle's folds.
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

REPO = Path(__file__).resolve().parent.parent
BASE = "airlock/base:bookworm"
NOOP = "airlock-bench/noop:latest"


def build_noop() -> None:
    subprocess.run(
        [
            "docker",
            "build",
            "--quiet",
            "--build-arg",
            "BEHAVIOUR=noop",
            "--tag",
            NOOP,
            str(REPO / "tests/fixtures/behave"),
        ],
        check=True,
        capture_output=True,
        env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
    )


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--bundle", type=Path, default=REPO / "task_bundles" / "synth-loco-3class")
    args = parser.parse_args()
    build_noop()
    n_folds = len([p for p in (args.bundle / "folds").iterdir() if p.is_dir()])
    airlock = [sys.executable, "-m", "runner", "run", "--image", NOOP, "--bundle", str(args.bundle)]
    bare = ["docker", "run", "--rm", BASE, "true"]
    timed(bare)  # warm the engine's caches for both sides
    end_to_end, in_runner, bare_runs = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for round_number in range(args.rounds):
            results = Path(scratch) / f"r{round_number}"
            end_to_end.append(timed([*airlock, "--results", str(results)]) / n_folds)
            (result_file,) = results.glob("*/*/result.json")
            folds = json.loads(result_file.read_text())["folds"]
            assert all(f["status"] == "ok" for f in folds), folds
            in_runner += [f["resources"]["wall_seconds"] for f in folds]
            bare_runs += [timed(bare) for _ in range(n_folds)]
    bare_median = statistics.median(bare_runs)
    rows = [
        ("bare `docker run --rm base true`", bare_median),
        ("airlock run, per fold, end to end", statistics.median(end_to_end)),
        ("airlock run, per fold, inside the runner", statistics.median(in_runner)),
    ]
    print(f"bundle {args.bundle.name}: {n_folds} folds x {args.rounds} rounds, interleaved")
    print(f"{'measure':<45} {'median s':>9} {'ratio':>7}")
    for name, value in rows:
        print(f"{name:<45} {value:>9.3f} {value / bare_median:>7.2f}")


if __name__ == "__main__":
    main()
