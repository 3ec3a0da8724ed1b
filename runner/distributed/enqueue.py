"""Turning (image, suite) into jobs: one per fold of every bundle, published durably."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from celery import Celery

from runner.bundle.load import load_bundle, suite_bundles
from runner.distributed.jobs import CPU, GPU, TASK_NAME, Job
from runner.errors import UsageError
from runner.run import team_of
from runner.sandbox.docker.sandbox import DockerProvider


def build_jobs(
    *,
    image_digest: str,
    suite: Path,
    results_uri: str,
    team: str,
    queue: str,
    sealed: Path | None = None,
    sealed_mode: bool = True,
) -> list[Job]:
    suite_id = uuid.uuid4().hex[:12]
    jobs = []
    for path in suite_bundles(suite):
        bundle = load_bundle(path)
        gpus = bundle.spec.resources.gpus
        if gpus and queue != GPU:
            raise UsageError(
                f"{bundle.spec.id} asks for {gpus} GPU(s): enqueue it with --queue gpu"
            )
        sealed_dir = None
        if sealed is not None:
            sealed_dir = str(
                sealed / bundle.spec.id if (sealed / bundle.spec.id).is_dir() else sealed
            )
        for fold in bundle.spec.folds:
            jobs.append(
                Job(
                    suite_id=suite_id,
                    image=image_digest,
                    team=team,
                    bundle_uri=str(path.resolve()),
                    bundle_hash=bundle.hash,
                    bundle_id=bundle.spec.id,
                    fold_id=fold,
                    sealed_uri=sealed_dir,
                    results_uri=results_uri,
                    queue=queue if gpus else CPU,
                    sealed_mode=sealed_mode,
                    enqueued_at=time.time(),
                )
            )
    return jobs


def enqueue(app: Celery, jobs: list[Job]) -> None:
    for job in jobs:
        payload = job.model_copy(update={"enqueued_at": time.time()}).model_dump()
        app.send_task(TASK_NAME, args=[payload], queue=job.queue)


def resolve_image(provider: DockerProvider, image: str) -> tuple[str, str]:
    """(digest reference, default team) of an image pushed to its registry."""
    if "@sha256:" in image:
        return image, team_of(image)
    return provider.registry_digest(image), team_of(image)


__all__ = ["CPU", "GPU", "build_jobs", "enqueue", "resolve_image", "suite_bundles"]
