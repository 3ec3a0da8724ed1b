"""The result of one submission on one bundle. ``airlock schema result`` exports its schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runner.verdict import Status

RESULT_SCHEMA = "airlock-result/1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhaseUsage(_Model):
    """Cost of one phase. Memory is the container's peak from its start to the phase's end."""

    wall_seconds: float = Field(ge=0)
    cpu_seconds: float | None = Field(default=None, ge=0)
    peak_memory_bytes: int | None = Field(default=None, ge=0)


class FoldResources(_Model):
    phases: dict[str, PhaseUsage] = Field(
        description="startup (runner side), handshake, fit, predict, shutdown; "
        "a phase never reached is absent."
    )
    wall_seconds: float = Field(ge=0, description="From container creation to removal.")
    cpu_seconds: float | None = Field(default=None, ge=0)
    peak_memory_bytes: int | None = Field(default=None, ge=0)
    exit_code: int | None = None
    oom_killed: bool = False
    gpus: int = 0


class FoldResult(_Model):
    fold_id: str
    status: Status
    reason: str = Field(default="", description="One line; empty when ok.")
    phase: str | None = Field(default=None, description="The phase in which the fold failed.")
    n_test: int
    metrics: dict[str, float | None] = Field(default_factory=dict)
    metric_notes: dict[str, str] = Field(
        default_factory=dict, description="Why a metric is None (undefined) for this fold."
    )
    resources: FoldResources
    started_at: datetime
    finished_at: datetime
    submission_name: str | None = Field(default=None, description="Name sent in 'ready'.")
    notes: list[str] = Field(default_factory=list)
    log_tail: list[str] = Field(
        default_factory=list, description="Last stderr lines shown to the participant."
    )
    log_bytes: int = Field(default=0, description="Total stderr bytes the submission wrote.")
    predictions_file: str | None = None
    log_file: str | None = None


class AppliedLimits(_Model):
    """The limits the folds actually ran under."""

    handshake_seconds: float
    fit_seconds: float
    predict_seconds: float
    memory_bytes: int
    cpus: float
    gpus: int
    pids_limit: int
    tmpfs_bytes: int
    network: Literal["none"] = "none"
    read_only_root: bool = True
    user: str
    max_message_bytes: int


class Provenance(_Model):
    runner_version: str
    protocol_version: int
    run_id: str
    image_ref: str
    image_id: str = Field(description="The image's content id (sha256 of its config).")
    repo_digests: list[str] = Field(default_factory=list)
    bundle_id: str
    bundle_title: str
    bundle_hash: str = Field(description="sha256 of the bundle's MANIFEST.sha256.")
    bundle_path: str
    synthetic_data: bool
    host: str
    engine: str
    python: str
    started_at: datetime
    finished_at: datetime
    limits: AppliedLimits


class Aggregate(_Model):
    """Mean and population sd of the primary metric over the folds that were scored.

    Failed folds are listed, never averaged in; ``complete`` is true only when every fold
    is ok and defined.
    """

    metric: str
    mean: float | None
    sd: float | None
    n_folds: int
    n_scored: int
    failed_folds: list[str]
    undefined_folds: list[str]
    complete: bool


class SubmissionResult(_Model):
    schema_: Literal["airlock-result/1"] = Field(default="airlock-result/1", alias="schema")
    provenance: Provenance
    task_type: str
    primary_metric: str
    metrics: list[str]
    folds: list[FoldResult]
    aggregate: Aggregate

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
