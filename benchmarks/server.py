"""The competition server under load, on loopback: `airlock serve` (SQLite, its own executor)
evaluating submissions while 200 clients poll their status at once; and how long after a
submission is accepted its first fold's container starts, with the executor idle.

    python benchmarks/server.py [--polls 200] [--submissions 3]

Prints p50/p95 of GET /api/v1/submissions/{id} under that load (goal p95 < 50 ms), and the
accept-to-first-container time (goal < 1 s). Uses the small Node.js fixture image.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import docker
import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.competition.conftest import add_team, start_server, write_competition

IMAGE = "airlock-bench/js-constant:latest"


def archive(client: docker.DockerClient) -> bytes:
    client.images.build(path=str(REPO / "tests" / "fixtures" / "js-constant"), tag=IMAGE, rm=True)
    return b"".join(client.api.get_image(IMAGE))


def first_container_after(client: docker.DockerClient, run_label: str, since: float) -> float:
    """Seconds from ``since`` to the first container labelled with the run."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = client.api.containers(all=True, filters={"label": f"io.airlock.run={run_label}"})
        if found:
            return time.monotonic() - since
        time.sleep(0.005)
    raise RuntimeError("no container started within 60 s")


def polls(url: str, token: str, submission_id: str, clients: int, every: float) -> list[float]:
    """``clients`` threads each polling a submission's status ``every`` seconds (0: back to
    back) for 10 rounds, as that many `airlock submit` progress bars would."""
    timings: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def poll() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            barrier.wait()
            time.sleep(every * threading.get_ident() % 997 / 997)  # spread over the period
            for _ in range(10):
                started = time.perf_counter()
                http.get(f"/api/v1/submissions/{submission_id}").raise_for_status()
                took = time.perf_counter() - started
                with lock:
                    timings.append(took)
                time.sleep(max(every - took, 0.0))

    threads = [threading.Thread(target=poll) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--submissions", type=int, default=3)
    args = parser.parse_args()
    engine = docker.from_env()
    body = archive(engine)
    root = Path(tempfile.mkdtemp(prefix="airlock-bench-server-"))
    write_competition(root, quota={"per_day": 50, "in_flight": 50})
    db = f"sqlite:///{root / 'competition.db'}"
    token = add_team(db, "bench")
    server = start_server(root, db)
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                          timeout=300) as http:  # fmt: skip
            accepted = http.post("/api/v1/submissions?phase=public", content=body)
            accepted.raise_for_status()
            first = accepted.json()["id"]
            to_container = first_container_after(engine, f"{first}.0", time.monotonic())
            ids = [first]
            for _ in range(args.submissions - 1):
                response = http.post("/api/v1/submissions?phase=public", content=body)
                ids.append(response.json()["id"])
            paced = polls(server.url, token, ids[-1], args.polls, 1.0)
            burst = polls(server.url, token, ids[-1], args.polls, 0.0)
    finally:
        server.stop()
    print(f"{args.polls} concurrent clients polling a submission's status while "
          f"{args.submissions} submissions were evaluated:")  # fmt: skip
    for name, timings in (("each once a second", paced), ("back to back (a burst)", burst)):
        timings.sort()
        p50 = statistics.median(timings) * 1000
        p95 = timings[int(0.95 * (len(timings) - 1))] * 1000
        print(f"  {name:<24} GET status p50 {p50:6.1f} ms, p95 {p95:6.1f} ms"
              f"  ({len(timings)} requests; goal p95 < 50 ms)")  # fmt: skip
    print(f"  accepted -> first fold container started: {to_container:.2f} s (goal < 1 s)")
    subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
