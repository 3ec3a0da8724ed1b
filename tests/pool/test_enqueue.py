"""`airlock enqueue` against a real RabbitMQ node: a suite a worker would refuse is refused
in one line with nothing published; a good one publishes one job per fold."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.distributed.jobs import Job
from runner.distributed.tasks import make_app
from tests.helpers import REPO, copy_bundle
from tests.pool.conftest import Broker, push

DIGEST = "127.0.0.1:1/nowhere/model@sha256:" + "a" * 64


def enqueue(broker: Broker, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", "enqueue", *args],
        cwd=REPO, env={**os.environ, "AIRLOCK_BROKER_URL": broker.url}, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip


def take_jobs(broker: Broker) -> list[Job]:
    """Every job waiting in the cpu queue, consumed (the queue is left empty)."""
    app = make_app(broker.url)
    jobs = []
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue("cpu")
        try:
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    break
                args, _, _ = message.decode()
                jobs.append(Job.model_validate(args[0]))
                message.ack()
        finally:
            queue.close()
    return jobs


def waiting(broker: Broker) -> int:
    """Messages in the cpu queue (0 when it was never declared)."""
    with make_app(broker.url).connection_for_read() as connection:
        channel = connection.channel()
        try:
            return int(channel.queue_declare(queue="cpu", passive=True).message_count)
        except connection.channel_errors:
            return 0
        finally:
            with contextlib.suppress(*connection.channel_errors, *connection.connection_errors):
                channel.close()


def test_refused_suites_publish_nothing(broker: Broker, tmp_path: Path) -> None:
    take_jobs(broker)
    bundle = copy_bundle("synth-loco-3class", tmp_path / "plain")
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    shutil.move(str(bundle / "sealed"), str(sealed / "synth-loco-3class"))
    results = str(tmp_path / "results")
    cases: list[tuple[list[str], list[str]]] = [
        ([], ["synth-loco-3class", "sealed labels", "--sealed"]),  # the reported defect
        (["--sealed", str(tmp_path / "elsewhere")], ["synth-loco-3class", "--sealed"]),
    ]
    changed = copy_bundle("synth-loco-3class", tmp_path / "changed")
    (changed / "folds" / "crew_C3" / "train" / "y.csv").write_text("id,label\n")
    cases.append(([], ["synth-loco-3class", "crew_C3/train/y.csv"]))
    for extra, words in cases:
        target = changed if "crew_C3/train/y.csv" in words else bundle
        done = enqueue(
            broker, "--image", DIGEST, "--suite", str(target), "--results", results, *extra
        )
        assert done.returncode == 2, done.stdout + done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith("airlock: error: ")
        for word in words:
            assert word in line, line
        assert waiting(broker) == 0
    assert take_jobs(broker) == []


@pytest.mark.docker
def test_a_good_suite_publishes_one_job_per_fold(
    broker: Broker, registry: str, docker_client: Any, tmp_path: Path
) -> None:
    take_jobs(broker)
    image = push(docker_client, registry, "airlock/sample-random", "enqueue/random")
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    sealed = tmp_path / "sealed"
    sealed.mkdir()
    shutil.move(str(bundle / "sealed"), str(sealed / "synth-loco-3class"))
    done = enqueue(
        broker, "--image", image, "--suite", str(bundle), "--sealed", str(sealed),
        "--results", str(tmp_path / "results"), "--team", "team-a",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "enqueued 4 job(s)" in done.stdout
    jobs = take_jobs(broker)
    docker_client.images.remove(image, noprune=True)  # the tag only
    assert sorted(job.fold_id for job in jobs) == ["crew_C1", "crew_C2", "crew_C3", "crew_C4"]
    local = docker_client.images.get("airlock/sample-random")
    for job in jobs:
        assert "@sha256:" in job.image
        assert job.image_id == local.id  # the enqueuing engine has it: recorded for the key
        assert job.sealed_uri == str((sealed / "synth-loco-3class").resolve())
        assert job.team == "team-a"
