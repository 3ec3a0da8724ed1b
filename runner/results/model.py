"""The result of one submission on one bundle. ``airlock schema result`` exports its schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runner.limits import AppliedLimits as AppliedLimits  # noqa: PLC0414 - re-exported
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
    wall_seconds: float = Field(
        ge=0,
        description="The fold's own time in the runner: reading its inputs, the container "
        "from creation to removal, judging and scoring (not a wait for the runner's metrics "
        "import). Sealed results round every figure here to 1, 2 or 5 x 10^k and keep only "
        "fit and predict among the phases.",
    )
    cpu_seconds: float | None = Field(default=None, ge=0)
    peak_memory_bytes: int | None = Field(default=None, ge=0)
    exit_code: int | None = Field(
        default=None, description="Sealed results: 0, 1 (any error exit) or 137 (signal)."
    )
    oom_killed: bool = False
    gpus: int = 0
    runtime: str | None = Field(
        default=None,
        description="The container runtime the fold ran under (runc, runsc: gVisor); null "
        "for a local process and in results written before Airlock recorded it (runc).",
    )


class FoldStatistics(_Model):
    """The GeneLab benchmark's per-unit statistics of this fold's AUROC (binary tasks)."""

    auroc_ci_lower: float | None = Field(description="2.5th percentile of bootstrap AUROCs.")
    auroc_ci_upper: float | None
    perm_p: float = Field(description="One-sided permutation p-value, (count + 1) / (N + 1).")
    n_bootstrap_used: int = Field(description="Bootstrap replicates with both classes.")


class ProbeLevelResult(_Model):
    """One robustness probe level on one fold: the same fitted model on perturbed test
    inputs (docs/robustness.md)."""

    series: str = Field(description="kind@level, as the probe's predict messages name it.")
    probe: str = Field(description="dropout, noise, shift or permutation.")
    level: float
    status: str = Field(
        description="ok; not_run (an earlier probe of the fold failed); or how this one failed "
        "(timeout, oom, crashed, protocol_error, invalid_predictions). Never the fold's status."
    )
    reason: str = Field(default="", description="One line; sealed results: a fixed template.")
    metric: float | None = Field(default=None, description="The primary metric on this input.")
    agreement: float | None = Field(
        default=None,
        description="Share of hard predictions equal to the clean ones (cells "
        "for multilabel tasks).",
    )
    score_correlation: float | None = Field(
        default=None,
        description="Pearson correlation of the probabilities with the clean "
        "ones (null when either side sent none or is constant).",
    )


class FoldRobustness(_Model):
    """The fold's robustness probes: every level, the rAUC of each kind, their mean."""

    seed: int
    metric: str = Field(description="The primary metric.")
    clean: float | None = Field(description="The primary metric on the clean inputs.")
    chance: float | None = Field(
        description="Mean primary metric of the clean predictions shuffled across samples."
    )
    levels: list[ProbeLevelResult]
    rauc: dict[str, float | None] = Field(
        default_factory=dict,
        description="Per scored kind (dropout, noise, shift): area under the normalised "
        "metric-vs-strength curve, 1 = no loss; null when a level failed or is undefined.",
    )
    score: float | None = Field(default=None, description="Mean of the rAUCs (robustness score).")


class ProbeCurvePoint(_Model):
    """One level of a kind over the folds where every level of the kind was scored."""

    level: float
    metric: float
    kept: float | None = Field(
        description="Normalised metric: clip((metric - chance) / (clean - chance), 0, 1)."
    )
    agreement: float | None
    score_correlation: float | None


class ProbeCurve(_Model):
    probe: str
    clean: float | None = Field(description="Mean clean metric over the curve's folds.")
    chance: float | None
    points: list[ProbeCurvePoint]
    rauc: float | None = Field(description="From the mean curve; null for permutation.")
    n_folds: int = Field(description="Folds in the means: ok, with every level scored.")
    failed_folds: list[str] = Field(default_factory=list, description="Folds where a level failed.")


class BundleRobustness(_Model):
    """The bundle's robustness: per kind, the mean curve over folds and its rAUC."""

    seed: int
    metric: str
    clean: float | None = Field(description="Mean clean metric over the folds of the curves.")
    chance: float | None
    curves: list[ProbeCurve]
    score: float | None = Field(
        description="Mean of the kinds' rAUCs (permutation excluded); null when one is null."
    )


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
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="Non-scalar metrics: per_class_f1 and confusion_matrix (multiclass), "
        "per_label_auroc (multilabel, null where a label has one class).",
    )
    statistics: FoldStatistics | None = None
    resources: FoldResources
    started_at: datetime
    finished_at: datetime
    queued_at: datetime | None = Field(
        default=None, description="When the job was enqueued (worker pool runs only)."
    )
    submission_name: str | None = Field(default=None, description="Name sent in 'ready'.")
    notes: list[str] = Field(default_factory=list)
    log_tail: list[str] = Field(
        default_factory=list, description="Last stderr lines shown to the participant."
    )
    log_bytes: int | None = Field(
        default=0,
        description="Total stderr bytes the submission wrote (absent from sealed results).",
    )
    predictions_file: str | None = None
    log_file: str | None = None
    reused_from: str | None = Field(
        default=None, description="Run id whose stored result this fold reuses (resumed run)."
    )
    robustness: FoldRobustness | None = Field(
        default=None,
        description="Robustness probes (airlock run --probes), on folds whose clean part is ok.",
    )


class Provenance(_Model):
    runner_version: str
    protocol_version: int
    run_id: str
    image_ref: str
    image_id: str = Field(description="The image's content id (sha256 of its config).")
    repo_digests: list[str] = Field(default_factory=list)
    image_labels: dict[str, str] = Field(
        default_factory=dict,
        description="The image's labels, e.g. io.airlock.versions (pinned libraries).",
    )
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
    team: str = Field(default="", description="Who submitted (airlock run --team).")
    benchmark: dict[str, str] | None = Field(
        default=None,
        description="The hosted benchmark task of the bundle (suite, task_id, variant).",
    )
    log_policy: Literal["dry-run", "sealed"] = "dry-run"
    isolation: Literal["container", "none"] = Field(
        default="container",
        description="none: run as a local process (airlock run --command) without any "
        "isolation; never a sealed evaluation, left out of leaderboards.",
    )
    participant_log_lines: int = Field(
        default=0, description="stderr lines of a failed fold shown in this result."
    )
    runtime: str | None = Field(
        default=None,
        description="The container runtime the run asked for (its folds record their own); "
        "null for a local process and in results written before Airlock recorded it (runc).",
    )


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


class MetricSummary(_Model):
    """SpaceOmicsBench aggregation of one metric over the ok folds where it is defined."""

    mean: float
    std: float = Field(description="Population standard deviation (ddof = 0).")
    min: float
    max: float
    n_folds: int


class GenelabSummary(_Model):
    """The GeneLab benchmark's summary over scored folds (see docs/benchmarks.md)."""

    mean_auroc: float | None
    std_auroc: float | None
    mean_ci_lower: float | None
    mean_ci_upper: float | None = None
    overall_auroc_pooled: float | None
    overall_ci_lower: float | None
    overall_ci_upper: float | None
    mean_perm_p: float | None
    go_nogo: bool | None = Field(description="Only for GeneLab Category A bundles; else null.")
    transfer_pattern: dict[str, float | int | None] | None = None
    n_bootstrap: int
    n_perm: int


class TaskStatistics(_Model):
    """The same statistics as `airlock score`, so both tracks rank on one scale."""

    metrics: dict[str, MetricSummary] = Field(default_factory=dict)
    genelab: GenelabSummary | None = Field(default=None, description="Binary tasks.")
    random_reference: float | None = None
    normalized_score: float | None = Field(
        default=None, description="SpaceOmicsBench: max(0, (mean - random) / (1 - random))."
    )
    robustness: BundleRobustness | None = Field(
        default=None, description="The folds' robustness probes aggregated (when run)."
    )


class SubmissionResult(_Model):
    schema_: Literal["airlock-result/1"] = Field(default="airlock-result/1", alias="schema")
    provenance: Provenance
    task_type: str
    primary_metric: str
    metrics: list[str]
    folds: list[FoldResult]
    aggregate: Aggregate
    statistics: TaskStatistics = Field(default_factory=TaskStatistics)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
