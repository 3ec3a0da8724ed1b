"""One fold's road, in named stages: prepare -> run the session -> judge -> score -> record.

Each stage is a small function with one input and one output type:

- :func:`prepare` reads the fold's test inputs and builds the sandbox spec and the session
  plan (:class:`FoldInputs`);
- :func:`~runner.session.run_session` runs the protocol in a fresh sandbox
  (:class:`~runner.session.SessionOutcome`);
- :func:`judge` checks the predictions and decides the status (:class:`Judgement`);
- :func:`score` reads the sealed labels, in this process, only after the container is gone
  and only when the predictions passed every check (:class:`Scoring`);
- :func:`record` writes the exact fold result and, in sealed mode, its public view
  (:class:`FoldReport`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runner import limits
from runner.bundle.load import (
    Bundle,
    FoldPaths,
    PredictInputs,
    load_sealed_labels,
    load_test_inputs,
)
from runner.errors import BundleError, Cancelled
from runner.limits import AppliedLimits
from runner.predictions import InvalidPredictions, PredictionSet, assemble, to_csv
from runner.probe_settings import ProbePlan
from runner.protocol.messages import Hello, RunLimits, TaskInfo
from runner.reasons import matches_a_template
from runner.results.model import FoldResources, FoldResult, FoldRobustness, FoldStatistics
from runner.results.statistics import Scored, fold_statistics
from runner.robustness import SeriesJudgement, judge_probes, measure_probes, prepare_probes
from runner.sandbox.base import ImageInfo, SandboxProvider, SandboxSpec
from runner.sandbox.runtimes import DEFAULT_RUNTIME, refusal
from runner.scoring.fold import load_metrics, score_fold
from runner.sealing import seal_fold
from runner.session import SessionOutcome, SessionPlan, run_session
from runner.untrusted import capped_line, shown
from runner.verdict import Evidence, Status, Verdict, decide

_log = logging.getLogger("airlock.fold")


@dataclass(frozen=True)
class LogPolicy:
    """What of a submission's own output reaches the result (participant-visible).

    Dry runs show full reasons and the last lines of stderr of failed folds. Sealed mode
    shows reasons without anything the submission wrote, withholds the name it gave, and
    shows at most ``tail_lines`` stderr lines (default 0): output cannot carry data out.
    The full (size-capped) stderr is stored beside the result for organizers either way.
    """

    sealed: bool = False
    tail_lines: int = limits.LOG_TAIL_LINES

    @classmethod
    def of(cls, sealed: bool, tail_lines: int | None) -> LogPolicy:
        if tail_lines is None:
            tail_lines = 0 if sealed else limits.LOG_TAIL_LINES
        return cls(sealed, tail_lines)


@dataclass(frozen=True)
class FoldReport:
    """A fold's result plus the artifacts to store beside it.

    ``result`` is what participants see (sealed: runner/sealing.py's public view);
    ``private`` is the exact result, kept for organizers only (None in a dry run, whose
    result is exact already).
    """

    result: FoldResult
    predictions_csv: bytes | None
    log_text: str
    scored: Scored | None = None
    private: FoldResult | None = None


@dataclass(frozen=True)
class FoldJob:
    """Everything that names one fold's evaluation."""

    bundle: Bundle
    fold: FoldPaths
    image: ImageInfo
    limits: AppliedLimits
    run_id: str
    policy: LogPolicy = field(default_factory=LogPolicy)
    probes: ProbePlan | None = None
    """Robustness probes to run after the clean predict (None: none)."""
    runtime: str | None = "runc"
    """The container runtime its sandbox runs under (None: a local process)."""


@dataclass(frozen=True)
class FoldInputs:
    """Stage 1's output: what the session needs."""

    inputs: PredictInputs
    plan: SessionPlan


@dataclass(frozen=True)
class Judgement:
    """Stage 3's output: the verdict and, when they passed every check, the predictions."""

    verdict: Verdict
    predictions: PredictionSet | None
    n_test: int
    probes: list[SeriesJudgement] = field(default_factory=list)
    """The probe series, judged only when the clean part is ok."""


@dataclass(frozen=True)
class Scoring:
    """Stage 4's output: the final status (reading the labels may still fail) and scores."""

    status: Status
    reason: str
    public_reason: str
    metrics: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    scored: Scored | None = None
    statistics: FoldStatistics | None = None
    robustness: tuple[FoldRobustness, FoldRobustness] | None = None
    """Exact and public (sealed) views of the probes' measures."""


def evaluate_fold(
    provider: SandboxProvider,
    job: FoldJob,
    *,
    cancel: threading.Event,
    on_phase: Callable[[str], None] | None = None,
    on_judged: Callable[[Status], None] | None = None,
) -> FoldReport:
    """Evaluate one fold; always returns a report, whatever happens below.

    Faults of the submission and of the machine become statuses inside; anything else is
    a defect of the runner itself, recorded as ``infra_error`` (never blamed on the
    submission) with its type, so a run or a worker always stores a fold record.
    ``on_judged`` hears the verdict before scoring: a run starts its next container then.
    """
    started_at = datetime.now(UTC)
    try:
        return _road(provider, job, cancel, on_phase, on_judged)
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # a runner defect: keep the run going and say so
        _log.exception("internal error in fold %s/%s", job.bundle.spec.id, job.fold.id)
        reason = f"internal error in the runner ({type(exc).__name__}); the fold was not judged"
        return infra_report(job, reason, started_at)


def _road(
    provider: SandboxProvider,
    job: FoldJob,
    cancel: threading.Event,
    on_phase: Callable[[str], None] | None,
    on_judged: Callable[[Status], None] | None = None,
) -> FoldReport:
    started_at, started = datetime.now(UTC), time.monotonic()
    # Checked before a run starts too; here it also holds for workers and the server.
    kind = provider.runtime_kind(job.runtime) if job.runtime else None
    refused = refusal(job.bundle.spec.id, job.bundle.spec.required_runtime, job.runtime, kind)
    if refused:
        return infra_report(job, refused, started_at)
    try:
        prepared = prepare(provider, job)
        outcome = run_session(provider, prepared.plan, cancel, on_phase)
    except BundleError as exc:
        # The bundle was validated before the run; a failure now is the organizer's side.
        return infra_report(job, f"fold inputs unreadable: {exc}", started_at)
    judgement = judge(job, prepared.inputs, outcome)
    if on_judged is not None:
        on_judged(judgement.verdict.status)
    # Waiting for the metrics import is the runner's start-up, not the fold's wall time.
    waited = load_metrics() if judgement.verdict.status is Status.OK else 0.0
    scoring = score(job, judgement)
    wall = time.monotonic() - started - waited
    return record(job, outcome, judgement, scoring, (started_at, wall))


def prepare(provider: SandboxProvider, job: FoldJob) -> FoldInputs:
    """Stage 1: read the fold's test inputs; build the sandbox spec and the session plan."""
    inputs = load_test_inputs(job.fold)
    probes = prepare_probes(job.probes, job.fold, inputs) if job.probes else ()
    # Each probe series has the predict limit: the container's lifetime (its deadline
    # label, runner/sandbox) counts them as more predict time; the phases keep their own.
    lifetime = job.limits.predict_seconds * (1 + len(probes))
    spec = SandboxSpec(
        image=job.image.id,
        train_dir=job.fold.train_dir,
        limits=job.limits.model_copy(update={"predict_seconds": lifetime}),
        labels={
            limits.LABEL_RUN: job.run_id,
            limits.LABEL_FOLD: f"{job.bundle.spec.id}/{job.fold.id}",
        },
        runtime=job.runtime or DEFAULT_RUNTIME,
    )
    hello = _hello(job, inputs, provider.train_path(spec))
    plan = SessionPlan(
        spec=spec,
        hello=hello,
        inputs=inputs,
        outputs=len(job.bundle.spec.outputs),
        probes=probes,
        phase_limits=job.limits,
    )
    return FoldInputs(inputs, plan)


def judge(job: FoldJob, inputs: PredictInputs, outcome: SessionOutcome) -> Judgement:
    """Stage 3: check the predictions, then decide the status from all the evidence."""
    problem = problem_public = None
    predictions = None
    if outcome.fault is None and outcome.infra_error is None:
        try:
            predictions = assemble(job.bundle.spec, inputs.ids, outcome.batches)
        except InvalidPredictions as exc:
            problem, problem_public = str(exc), exc.public
    exit_info = outcome.exit
    failed_phase = outcome.phases.get(outcome.fault.phase) if outcome.fault else None
    peaks = [u.peak_memory_bytes for u in outcome.phases.values() if u.peak_memory_bytes]
    verdict = decide(
        Evidence(
            infra_error=str(outcome.infra_error) if outcome.infra_error else None,
            fault=outcome.fault,
            exit_code=exit_info.exit_code if exit_info else None,
            oom_killed=exit_info.oom_killed if exit_info else False,
            killed_by_runner=outcome.killed_by_runner,
            prediction_problem=problem,
            prediction_problem_public=problem_public,
            memory_limit_bytes=job.limits.memory_bytes,
            phase_seconds=failed_phase.wall_seconds if failed_phase else None,
            peak_memory_bytes=max(peaks) if peaks else None,
        )
    )
    probes = []
    if job.probes is not None and verdict.status is Status.OK and predictions is not None:
        memory = job.limits.memory_bytes
        probes = judge_probes(job.bundle.spec, job.probes, inputs.ids, outcome, memory)
    return Judgement(verdict, predictions, len(inputs.ids), probes)


def score(job: FoldJob, judgement: Judgement) -> Scoring:
    """Stage 4: score an ok fold against its sealed labels, read here and only now."""
    verdict = judgement.verdict
    base = Scoring(verdict.status, verdict.reason, verdict.public_reason)
    if verdict.status is not Status.OK or judgement.predictions is None:
        return base
    try:
        truth = load_sealed_labels(job.bundle, job.fold)
    except BundleError as exc:
        reason = f"sealed labels unreadable: {exc}"
        return Scoring(Status.INFRA_ERROR, reason, reason)
    result = score_fold(job.bundle.spec, truth, judgement.predictions)
    statistics = robustness = None
    if result.scored is not None and _wants_genelab_statistics(job.bundle):
        statistics = fold_statistics(result.scored)
    if job.probes is not None and judgement.probes:
        clean = (judgement.predictions, result.scores.values.get(job.bundle.spec.metrics.primary))
        robustness = measure_probes(
            job.bundle.spec, job.probes, truth, clean, judgement.probes, fold_id=job.fold.id
        )
    return dataclasses.replace(
        base,
        metrics=result.scores.values,
        notes=result.scores.notes,
        details=result.details,
        scored=result.scored,
        statistics=statistics,
        robustness=robustness,
    )


def record(
    job: FoldJob,
    outcome: SessionOutcome,
    judgement: Judgement,
    scoring: Scoring,
    timing: tuple[datetime, float],
) -> FoldReport:
    """Stage 5: the exact fold result and, in sealed mode, the public view of it."""
    started_at, wall = timing
    ready = outcome.ready
    exact = FoldResult(
        fold_id=job.fold.id,
        status=scoring.status,
        reason=capped_line(scoring.reason),
        phase=judgement.verdict.phase,
        n_test=judgement.n_test,
        metrics=scoring.metrics,
        metric_notes=scoring.notes,
        details=scoring.details,
        statistics=scoring.statistics,
        resources=_resources(outcome, wall, job.limits.gpus, job.runtime),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        submission_name=shown(ready.name, 200) if ready and ready.name else None,
        notes=[capped_line(note) for note in outcome.notes],
        log_tail=(
            outcome.log.tail_lines(job.policy.tail_lines) if scoring.status is not Status.OK else []
        ),
        log_bytes=outcome.log.total_bytes,
        robustness=scoring.robustness[0] if scoring.robustness else None,
    )
    predictions = judgement.predictions
    csv_bytes = to_csv(job.bundle.spec, predictions) if predictions is not None else None
    if not job.policy.sealed:
        return FoldReport(exact, csv_bytes, outcome.log.text(), scoring.scored)
    if scoring.status is not Status.INFRA_ERROR and scoring.public_reason:
        assert matches_a_template(scoring.public_reason), scoring.public_reason
    shown_probes = scoring.robustness[1] if scoring.robustness else None
    for level in shown_probes.levels if shown_probes else []:
        assert not level.reason or matches_a_template(level.reason), level.reason
    public_result = seal_fold(exact, capped_line(scoring.public_reason), shown_probes)
    return FoldReport(public_result, csv_bytes, outcome.log.text(), scoring.scored, exact)


def _wants_genelab_statistics(bundle: Bundle) -> bool:
    """GeneLab's bootstrap CI and permutation p per fold: for GeneLab bundles and bundles of
    no benchmark; SpaceOmicsBench defines no such statistics (and its folds are large)."""
    benchmark = bundle.spec.benchmark
    return benchmark is None or benchmark.suite == "genelab"


def _hello(job: FoldJob, inputs: PredictInputs, train_dir: str) -> Hello:
    spec, applied = job.bundle.spec, job.limits
    return Hello(
        task=TaskInfo(
            bundle_id=spec.id,
            fold_id=job.fold.id,
            task_type=spec.task_type,
            classes=spec.classes,
            positive_class=spec.positive_class,
            labels=spec.labels,
            feature_names=inputs.feature_names,
            meta_columns=inputs.meta_columns,
            n_train=inputs.n_train,
            n_test=len(inputs.ids),
            benchmark=spec.benchmark.as_dict() if spec.benchmark is not None else None,
        ),
        train_dir=train_dir,
        limits=RunLimits(
            fit_seconds=applied.fit_seconds,
            predict_seconds=applied.predict_seconds,
            memory_bytes=applied.memory_bytes,
            cpus=applied.cpus,
            gpus=applied.gpus,
        ),
    )


def _resources(
    outcome: SessionOutcome, wall: float, gpus: int, runtime: str | None
) -> FoldResources:
    phases = outcome.phases
    cpu_values = [p.cpu_seconds for p in phases.values() if p.cpu_seconds is not None]
    peaks = [p.peak_memory_bytes for p in phases.values() if p.peak_memory_bytes is not None]
    exit_info = outcome.exit
    return FoldResources(
        phases=dict(phases),
        wall_seconds=wall,
        cpu_seconds=sum(cpu_values) if cpu_values else None,
        peak_memory_bytes=max(peaks) if peaks else None,
        exit_code=exit_info.exit_code if exit_info else None,
        oom_killed=exit_info.oom_killed if exit_info else False,
        gpus=gpus,
        runtime=runtime,
    )


def infra_report(job: FoldJob, reason: str, started_at: datetime) -> FoldReport:
    """A fold the machine (or the runner) failed: never the submission's fault."""
    result = FoldResult(
        fold_id=job.fold.id,
        status=Status.INFRA_ERROR,
        reason=capped_line(reason),
        n_test=0,
        resources=FoldResources(
            phases={}, wall_seconds=0.0, gpus=job.limits.gpus, runtime=job.runtime
        ),
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )
    return FoldReport(result, None, "")
