"""Worker-pool latency and throughput on the sample suite, with a real RabbitMQ node, a real
registry and real `airlock worker` processes started here (Debian packages required:
rabbitmq-server, docker-registry; `make images` first).

    python benchmarks/pool_throughput.py [--rounds 10]      (or: make bench-pool)

Start latency: a job is enqueued to an idle pool and timed until the fold starts (just
before its container is created); the difference is broker delivery, job decoding,
bundle verification and the image check. Throughput: every fold of the sample suite
(17 folds) enqueued at once, for 1 and then 2 workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/services.py starts the broker, registry and workers

from tests.helpers import bundle_variant
from tests.services import Broker, Pool, Registry, free_port, push

SAMPLES = REPO / "task_bundles"


def airlock(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def wait_results(results: Path, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while len(list(results.glob("*/*/result.json"))) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {count} results in {results}")
        time.sleep(0.05)


def fold_records(results: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text())["result"] for p in results.glob("*/*/folds/*.json")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    client = docker.from_env()
    client.images.build(
        path=str(REPO / "tests/fixtures/behave"),
        tag="airlock-bench/noop:latest",
        rm=True,
        buildargs={"BEHAVIOUR": "noop"},
    )
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "rabbitmq").mkdir()
        (root / "registry").mkdir()
        broker = Broker(root / "rabbitmq", free_port())
        registry = Registry(root / "registry", free_port())
        broker.start()
        registry.start()
        try:
            image = push(client, registry.address, "airlock-bench/noop:latest", "bench/noop")
            env = {
                **os.environ,
                "AIRLOCK_BROKER_URL": broker.url,
                "AIRLOCK_CACHE": str(root / "cache"),
            }
            # start latency: one job at a time into an idle pool of one worker
            pool = Pool(env, root)
            pool.start("w1")
            time.sleep(3)
            latencies = []
            (root / "one-fold").mkdir()
            one_fold = bundle_variant("synth-loco-3class", root / "one-fold", folds=["crew_C1"])
            for round_number in range(args.rounds):
                results = root / f"latency-{round_number}"
                airlock(
                    env,
                    "enqueue",
                    "--image",
                    image,
                    "--suite",
                    str(one_fold),
                    "--results",
                    str(results),
                )
                wait_results(results, 1)
                latencies += [
                    (datetime_of(r["started_at"]) - datetime_of(r["queued_at"]))
                    for r in fold_records(results)
                ]
            # throughput: the whole sample suite at once, 1 worker then 2
            throughput = {}
            for workers in (1, 2):
                if workers == 2:
                    pool.start("w2")
                    time.sleep(3)
                results = root / f"throughput-{workers}"
                started = time.perf_counter()
                airlock(
                    env,
                    "enqueue",
                    "--image",
                    image,
                    "--suite",
                    str(SAMPLES),
                    "--results",
                    str(results),
                )
                wait_results(results, 4)
                elapsed = time.perf_counter() - started
                throughput[workers] = (len(fold_records(results)), elapsed)
            pool.stop()
        finally:
            registry.stop()
            broker.stop()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    median = statistics.median(latencies) * 1000
    print(f"start latency, idle pool: {len(latencies)} single-fold jobs, one at a time")
    print(f"  median {median:.0f} ms, p95 {p95 * 1000:.0f} ms (goal: median < 100 ms)")
    for workers, (folds, elapsed) in throughput.items():
        rate = folds / elapsed
        print(
            f"throughput, {workers} worker(s): {folds} folds, {elapsed:.1f} s, {rate:.2f} folds/s"
        )


def datetime_of(text: object) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(text)).timestamp()


if __name__ == "__main__":
    main()
