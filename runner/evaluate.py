"""One fold from start to verdict: prepare inputs, run the session, check, score.

The sealed labels are read here, in the runner process, only after the container is gone
and only when its predictions passed every check.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from runner.bundle.spec import TimeLimits
from runner.errors import BundleError, Cancelled
from runner.predictions import InvalidPredictions, assemble, to_csv
from runner.protocol.messages import Hello, RunLimits, TaskInfo
from runner.reasons import matches_a_template
from runner.results.model import AppliedLimits, FoldResources, FoldResult, PhaseUsage
from runner.results.statistics import Scored, fold_statistics
from runner.sandbox.base import ImageInfo, SandboxProvider, SandboxSpec
from runner.scoring.fold import score_fold
from runner.sealing import seal_fold
from runner.session import SessionOutcome, SessionPlan, run_session
from runner.untrusted import capped_line, shown
from runner.verdict import Evidence, Status, decide

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


def evaluate_fold(
    provider: SandboxProvider,
    bundle: Bundle,
    fold: FoldPaths,
    image: ImageInfo,
    applied: AppliedLimits,
    *,
    run_id: str,
    cancel: threading.Event,
    on_phase: Callable[[str], None] | None = None,
    policy: LogPolicy | None = None,
) -> FoldReport:
    """Evaluate one fold; always returns a report, whatever happens below.

    Faults of the submission and of the machine become statuses inside; anything else is
    a defect of the runner itself, recorded as ``infra_error`` (never blamed on the
    submission) with its type, so a run or a worker always stores a fold record.
    """
    started_at = datetime.now(UTC)
    try:
        return _evaluate_fold(
            provider,
            bundle,
            fold,
            image,
            applied,
            run_id=run_id,
            cancel=cancel,
            on_phase=on_phase,
            policy=policy or LogPolicy(),
        )
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:  # a runner defect: keep the run going and say so
        _log.exception("internal error in fold %s/%s", bundle.spec.id, fold.id)
        reason = f"internal error in the runner ({type(exc).__name__}); the fold was not judged"
        return _infra_report(fold, reason, started_at, applied)


def _evaluate_fold(
    provider: SandboxProvider,
    bundle: Bundle,
    fold: FoldPaths,
    image: ImageInfo,
    applied: AppliedLimits,
    *,
    run_id: str,
    cancel: threading.Event,
    on_phase: Callable[[str], None] | None,
    policy: LogPolicy,
) -> FoldReport:
    started_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        inputs = load_test_inputs(fold)
    except BundleError as exc:
        # The bundle was validated before the run; a failure now is the organizer's side.
        return _infra_report(fold, f"fold inputs unreadable: {exc}", started_at, applied)
    spec = SandboxSpec(
        image=image.id,
        train_dir=fold.train_dir,
        memory_bytes=applied.memory_bytes,
        cpus=applied.cpus,
        gpus=applied.gpus,
        pids_limit=applied.pids_limit,
        tmpfs_bytes=applied.tmpfs_bytes,
        user=applied.user,
        labels={limits.LABEL_RUN: run_id, limits.LABEL_FOLD: f"{bundle.spec.id}/{fold.id}"},
    )
    plan = SessionPlan(
        spec=spec,
        hello=_hello(bundle, inputs, applied, fold.id, provider.train_path(spec)),
        inputs=inputs,
        outputs=len(bundle.spec.outputs),
        time_limits=TimeLimits(
            handshake_seconds=applied.handshake_seconds,
            fit_seconds=applied.fit_seconds,
            predict_seconds=applied.predict_seconds,
        ),
    )
    try:
        outcome = run_session(provider, plan, cancel, on_phase)
    except BundleError as exc:
        return _infra_report(fold, str(exc), started_at, applied)

    prediction_problem = prediction_problem_public = None
    predictions = None
    if outcome.fault is None and outcome.infra_error is None:
        try:
            predictions = assemble(bundle.spec, inputs.ids, outcome.batches)
        except InvalidPredictions as exc:
            prediction_problem, prediction_problem_public = str(exc), exc.public
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
            prediction_problem=prediction_problem,
            prediction_problem_public=prediction_problem_public,
            memory_limit_bytes=applied.memory_bytes,
            phase_seconds=failed_phase.wall_seconds if failed_phase else None,
            peak_memory_bytes=max(peaks) if peaks else None,
        )
    )
    metrics: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    details: dict[str, Any] = {}
    scored = None
    statistics = None
    status, reason = verdict.status, verdict.reason
    if status is Status.OK and predictions is not None:
        try:
            truth = load_sealed_labels(bundle, fold)
        except BundleError as exc:
            status, reason = Status.INFRA_ERROR, f"sealed labels unreadable: {exc}"
            verdict = dataclasses.replace(verdict, public_reason=reason)
        else:
            score = score_fold(bundle.spec, truth, predictions)
            metrics, notes, details = score.scores.values, score.scores.notes, score.details
            scored = score.scored
            if scored is not None and _wants_genelab_statistics(bundle):
                statistics = fold_statistics(scored)

    exact = FoldResult(
        fold_id=fold.id,
        status=status,
        reason=capped_line(reason),
        phase=verdict.phase,
        n_test=len(inputs.ids),
        metrics=metrics,
        metric_notes=notes,
        details=details,
        statistics=statistics,
        resources=_resources(outcome, time.monotonic() - started, applied.gpus),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        submission_name=shown(outcome.ready.name, 200)
        if outcome.ready and outcome.ready.name
        else None,
        notes=[capped_line(note) for note in outcome.notes],
        log_tail=outcome.log.tail_lines(policy.tail_lines) if status is not Status.OK else [],
        log_bytes=outcome.log.total_bytes,
    )
    csv_bytes = to_csv(bundle.spec, predictions) if predictions is not None else None
    if not policy.sealed:
        return FoldReport(exact, csv_bytes, outcome.log.text(), scored)
    if status is not Status.INFRA_ERROR and verdict.public_reason:
        assert matches_a_template(verdict.public_reason), verdict.public_reason
    public_result = seal_fold(exact, capped_line(verdict.public_reason))
    return FoldReport(public_result, csv_bytes, outcome.log.text(), scored, private=exact)


def _wants_genelab_statistics(bundle: Bundle) -> bool:
    """GeneLab's bootstrap CI and permutation p per fold: for GeneLab bundles and bundles of
    no benchmark; SpaceOmicsBench defines no such statistics (and its folds are large)."""
    benchmark = bundle.spec.benchmark
    return benchmark is None or benchmark.suite == "genelab"


def _hello(
    bundle: Bundle, inputs: PredictInputs, applied: AppliedLimits, fold_id: str, train_dir: str
) -> Hello:
    spec = bundle.spec
    return Hello(
        task=TaskInfo(
            bundle_id=spec.id,
            fold_id=fold_id,
            task_type=spec.task_type,
            classes=spec.classes,
            positive_class=spec.positive_class,
            labels=spec.labels,
            feature_names=inputs.feature_names,
            meta_columns=inputs.meta_columns,
            n_train=inputs.n_train,
            n_test=len(inputs.ids),
            benchmark=(
                {"suite": b.suite, "task_id": b.task_id, "variant": b.variant}
                if (b := spec.benchmark) is not None
                else None
            ),
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


def _resources(outcome: SessionOutcome, wall: float, gpus: int) -> FoldResources:
    phases = {
        name: PhaseUsage(
            wall_seconds=usage.wall_seconds,
            cpu_seconds=usage.cpu_seconds,
            peak_memory_bytes=usage.peak_memory_bytes,
        )
        for name, usage in outcome.phases.items()
    }
    cpu_values = [p.cpu_seconds for p in phases.values() if p.cpu_seconds is not None]
    peaks = [p.peak_memory_bytes for p in phases.values() if p.peak_memory_bytes is not None]
    exit_info = outcome.exit
    return FoldResources(
        phases=phases,
        wall_seconds=wall,
        cpu_seconds=sum(cpu_values) if cpu_values else None,
        peak_memory_bytes=max(peaks) if peaks else None,
        exit_code=exit_info.exit_code if exit_info else None,
        oom_killed=exit_info.oom_killed if exit_info else False,
        gpus=gpus,
    )


def _infra_report(
    fold: FoldPaths, reason: str, started_at: datetime, applied: AppliedLimits
) -> FoldReport:
    result = FoldResult(
        fold_id=fold.id,
        status=Status.INFRA_ERROR,
        reason=reason,
        n_test=0,
        resources=FoldResources(phases={}, wall_seconds=0.0, gpus=applied.gpus),
        started_at=started_at,
        finished_at=datetime.now(UTC),
    )
    return FoldReport(result, None, "")
