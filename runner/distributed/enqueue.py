"""Turning (image, suite) into jobs: one per fold of every bundle, published durably.

Nothing is published until every bundle of the suite passes the check a worker makes before
it runs a fold (``runner.run.load_for_run``: public files against the manifest, sealed labels
present and matching the manifest's commitments), so a suite that a worker would refuse is
refused here, in one line, with nothing on the queue.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from celery import Celery

from runner.bundle.load import Bundle, load_bundle, suite_bundles
from runner.distributed.jobs import CPU, GPU, TASK_NAME, Job
from runner.errors import AirlockError, BundleError, InfraError, UsageError
from runner.run import load_for_run, team_of
from runner.sandbox.base import SandboxProvider


@dataclass(frozen=True)
class Checked:
    """A bundle that passed the worker's check, with the sealed directory its jobs name
    (None: the bundle's own ``sealed/``)."""

    bundle: Bundle
    sealed: Path | None


def _sealed_for(sealed: Path | None, bundle_id: str, several: bool) -> Path | None:
    """The sealed labels' directory a job of this bundle names, as ``airlock run`` picks it."""
    if sealed is None:
        return None
    own = sealed / bundle_id
    if own.is_dir():
        return own.resolve()
    if several:
        raise UsageError(
            f"sealed labels missing for bundle {bundle_id}: --sealed {sealed} has no "
            f"{bundle_id}/ sub-directory; pass --sealed DIR holding DIR/<bundle id>/SALT and "
            "DIR/<bundle id>/<fold>/y.csv for every bundle of the suite"
        )
    return sealed.resolve()


def _refusal(bundle_id: str, exc: AirlockError) -> UsageError:
    message = str(exc)
    if f"bundle {bundle_id!r}" not in message:
        message = f"bundle {bundle_id}: {message}"
    return UsageError(message)


def check_suite(suite: Path, sealed: Path | None, queue: str) -> list[Checked]:
    """Every bundle of ``suite`` checked exactly as a worker will check it (the same
    ``load_for_run`` call on the same directories); the first problem is a UsageError that
    names the bundle and what to pass."""
    paths = suite_bundles(suite)
    checked: list[Checked] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            bundle_id = load_bundle(path, verify=False).spec.id
        except BundleError as exc:
            raise UsageError(f"bundle {path}: {exc}") from exc
        if bundle_id in seen:
            raise UsageError(f"bundle id {bundle_id!r} given twice ({seen[bundle_id]} and {path})")
        seen[bundle_id] = path
        job_sealed = _sealed_for(sealed, bundle_id, len(paths) > 1)
        try:
            (bundle,) = load_for_run([path.resolve()], job_sealed)
        except (BundleError, UsageError) as exc:
            raise _refusal(bundle_id, exc) from exc
        gpus = bundle.spec.resources.gpus
        if gpus and queue != GPU:
            raise UsageError(f"{bundle_id} asks for {gpus} GPU(s): enqueue it with --queue gpu")
        checked.append(Checked(bundle, job_sealed))
    return checked


def build_jobs(
    *,
    image_digest: str,
    checked: list[Checked],
    results_uri: str,
    team: str,
    queue: str,
    image_id: str | None = None,
    sealed_mode: bool = True,
) -> list[Job]:
    suite_id = uuid.uuid4().hex[:12]
    jobs = []
    for item in checked:
        bundle = item.bundle
        for fold in bundle.spec.folds:
            jobs.append(
                Job(
                    suite_id=suite_id,
                    image=image_digest,
                    image_id=image_id,
                    team=team,
                    bundle_uri=str(bundle.path.resolve()),
                    bundle_hash=bundle.hash,
                    bundle_id=bundle.spec.id,
                    fold_id=fold,
                    sealed_uri=str(item.sealed) if item.sealed is not None else None,
                    results_uri=results_uri,
                    queue=queue if bundle.spec.resources.gpus else CPU,
                    sealed_mode=sealed_mode,
                    enqueued_at=time.time(),
                )
            )
    return jobs


def enqueue(app: Celery, jobs: list[Job]) -> None:
    for job in jobs:
        payload = job.model_copy(update={"enqueued_at": time.time()}).model_dump()
        app.send_task(TASK_NAME, args=[payload], queue=job.queue)


def resolve_image(provider: SandboxProvider, image: str) -> tuple[str, str]:
    """(digest reference, default team) of an image pushed to its registry."""
    if "@sha256:" in image:
        return image, team_of(image)
    return provider.registry_digest(image), team_of(image)


def local_image_id(provider: SandboxProvider, digest_ref: str) -> str | None:
    """The image's content id if this machine's engine has it (None otherwise: a worker
    learns it when it pulls the image)."""
    try:
        if provider.has_image(digest_ref):
            return provider.describe_image(digest_ref).id
    except InfraError:
        return None
    return None


__all__ = [
    "CPU",
    "GPU",
    "Checked",
    "build_jobs",
    "check_suite",
    "enqueue",
    "local_image_id",
    "resolve_image",
    "suite_bundles",
]
