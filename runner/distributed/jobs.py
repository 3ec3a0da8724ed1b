"""The job message: everything a worker needs to run one fold, and nothing secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

CPU, GPU = "cpu", "gpu"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
"""Bundle and fold ids, as bundle.yaml allows them (they become parts of store keys)."""
HASH_PATTERN = r"^sha256:[0-9a-f]{64}$"
QUEUES = (CPU, GPU)
TASK_NAME = "airlock.run_fold"


class Job(BaseModel):
    """One (submission, bundle, fold). Results are keyed by (image id, bundle hash, fold), so a
    job delivered twice stores one result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite_id: str = Field(description="The enqueue call this job belongs to (the run id).")
    image: str = Field(description="The submission image by digest: registry/repository@sha256:...")
    image_id: str | None = Field(
        default=None,
        description="The image's content id when the enqueuing machine had the image: keys "
        "the job's failure record when no worker can pull the image.",
    )
    team: str
    bundle_uri: str = Field(
        description="Where the bundle is: a shared path or s3://bucket/prefix/<bundle>."
    )
    bundle_hash: str = Field(pattern=HASH_PATTERN)
    bundle_id: str = Field(pattern=ID_PATTERN)
    fold_id: str = Field(pattern=ID_PATTERN)
    sealed_uri: str | None = Field(
        default=None, description="The organizer's sealed labels for the bundle."
    )
    results_uri: str
    queue: str = CPU
    memory: str | None = None
    cpus: float | None = None
    gpus: int | None = None
    sealed_mode: bool = True
    log_lines: int | None = None
    enqueued_at: float = Field(description="Unix time the job was published (for latency figures).")
