"""What the two benchmark importers share: the limits and ``benchmark`` reference every
imported bundle carries, and writing it so that a re-import with the organizer's key
gives the same bundle hash."""

from __future__ import annotations

from pathlib import Path

from runner.bundle.manifest import keyed_salt
from runner.bundle.spec import BundleSpec
from runner.bundle.write import Dataset, FoldSplit, write_bundle

TIME_LIMITS = {"handshake_seconds": 60, "fit_seconds": 900, "predict_seconds": 300}
"""Seconds per phase for an imported task: the published baselines fit well within them."""


def hosted_task_fields(
    suite: str,
    task_id: str,
    variant: str,
    *,
    memory: str,
    random_reference: float | None = None,
) -> dict[str, object]:
    """The ``bundle.yaml`` fields that say which benchmark task a bundle reproduces and what
    a submission may use on it (one CPU, no GPU, ``memory``)."""
    benchmark: dict[str, object] = {"suite": suite, "task_id": task_id, "variant": variant}
    if random_reference is not None:
        benchmark["random_reference"] = random_reference
    return {
        "time_limits": dict(TIME_LIMITS),
        "resources": {"memory": memory, "cpus": 1.0, "gpus": 0},
        "benchmark": benchmark,
    }


def write_imported(
    out: Path,
    fields: dict[str, object],
    data: Dataset,
    folds: list[FoldSplit],
    *,
    salt_key: bytes | None,
    sealed_out: Path | None,
) -> tuple[Path, str]:
    """Validate ``fields`` as the spec and write the bundle at ``out/<id>``; the sealed
    labels go to its ``sealed/``, or to ``sealed_out/<id>``. The salt is
    ``keyed_salt(salt_key, [id, source-file hashes])`` with a key, else random."""
    spec = BundleSpec.model_validate(fields)
    salt = keyed_salt(salt_key, [spec.id, spec.source_files]) if salt_key is not None else None
    target = out / spec.id
    sealed = sealed_out / spec.id if sealed_out is not None else None
    bundle_hash = write_bundle(
        target, spec, data, folds, float_format="{!r}", salt=salt, sealed_out=sealed
    )
    return target, bundle_hash
