"""Running a submission image over one or more bundles: plan, run the folds, store."""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from runner.bundle.load import FoldPaths
from runner.errors import Cancelled, UsageError
from runner.evaluate import FoldReport, LogPolicy, evaluate_fold
from runner.fold_records import (
    StoredResult,
    assemble_result,
    build_result,
    persist_fold,
    stored_fold,
)
from runner.plan import (
    BundlePlan,
    ResourceRequest,
    TimeRequest,
    applied_limits,
    load_for_run,
    team_of,
)
from runner.probe_settings import ProbeRequest, resolve
from runner.results.store import ResultStore
from runner.sandbox.base import SandboxProvider, SandboxSpec
from runner.sandbox.runtimes import DEFAULT_RUNTIME, refusal
from runner.schedule import FoldSchedule, container_turn, fold_slot
from runner.scoring.fold import prefetch_metrics
from runner.verdict import Status

Plan = BundlePlan
"""The name importers used before the split."""

__all__ = [
    "BundlePlan",
    "Plan",
    "ResourceRequest",
    "RunListener",
    "RunRequest",
    "StoredResult",
    "SuiteRunner",
    "TimeRequest",
    "applied_limits",
    "assemble_result",
    "build_result",
    "load_for_run",
    "persist_fold",
    "stored_fold",
    "team_of",
]


@dataclass(frozen=True)
class RunRequest:
    image: str
    bundles: list[Path]
    sealed: Path | None = None
    jobs: int = 1
    resources: ResourceRequest = field(default_factory=ResourceRequest)
    team: str = ""
    """Who submits; defaults to the image's repository name."""
    sealed_mode: bool = False
    force: bool = False
    """Run every fold again even when a stored result could be reused."""
    log_lines: int | None = None
    """stderr lines shown per failed fold (default: 0 in sealed mode, 20 in a dry run)."""
    schedule: FoldSchedule | None = None
    """Whether folds may overlap (default: one at a time per submission when sealed)."""
    folds: tuple[str, ...] = ()
    """Run only these folds (of every bundle that has them); no result.json is written."""
    fail_fast: bool = False
    """Start no further fold once one fails by the submission's fault."""
    times: TimeRequest = field(default_factory=TimeRequest)
    probes: ProbeRequest | None = None
    """Robustness probes after each fold's clean predict (off unless asked)."""
    runtime: str | None = None
    """The container runtime every fold runs under (``--runtime``; runsc: gVisor); None:
    the engine's default."""


class RunListener:
    """Progress hooks; the CLI draws with them, tests may record them. Called from threads."""

    def run_started(self, folds: list[tuple[str, str]]) -> None:
        """The (bundle id, fold id) pairs about to run."""

    def fold_phase(self, bundle_id: str, fold_id: str, phase: str) -> None:
        """A fold entered a protocol phase."""

    def fold_finished(self, bundle_id: str, report: FoldReport) -> None:
        """A fold has its verdict."""


SCORING_LAG = 3
"""Folds a run may have judged but not yet scored: while the first fold waits for the
metrics import (most of a second), the next containers run instead of waiting too."""


class SuiteRunner:
    """Runs every fold of every bundle for one image and stores one result per bundle."""

    def __init__(
        self,
        provider: SandboxProvider,
        store: ResultStore,
        listener: RunListener | None = None,
    ) -> None:
        self._provider = provider
        self._store = store
        self._listener = listener or RunListener()
        self._schedule = FoldSchedule.CONCURRENT
        self.cancel = threading.Event()

    def run(self, request: RunRequest) -> list[StoredResult]:
        prefetch_metrics()
        plans = self._plans(request)
        self._store.check_layout()
        self._provider.reap()
        run_id = uuid.uuid4().hex[:12]
        engine = self._provider.engine_description()
        started_at = datetime.now(UTC)
        selected = {p.bundle.spec.id: self._selected(p, request) for p in plans}
        reports: dict[tuple[str, str], FoldReport] = {}
        jobs = []
        for plan in plans:
            for fold in selected[plan.bundle.spec.id]:
                # A local command's code changes between runs under the same id: never reuse.
                reuse = plan.isolated and not request.force
                found = stored_fold(self._store, plan, fold.id) if reuse else None
                if found is not None:
                    reports[(plan.bundle.spec.id, fold.id)] = found
                else:
                    jobs.append((plan, fold))
        self._listener.run_started([(b, f.id) for b, folds in selected.items() for f in folds])
        for (bundle_id, _), report in reports.items():
            self._listener.fold_finished(bundle_id, report)
        reports.update(self._run_folds(jobs, run_id, request.jobs, request.fail_fast))
        stored = []
        for plan in plans:
            folds = [f.id for f in plan.bundle.folds]
            ran = [
                reports[(plan.bundle.spec.id, f)]
                for f in folds
                if (plan.bundle.spec.id, f) in reports
            ]
            if len(ran) == len(folds):
                stored.append(
                    assemble_result(
                        self._store, plan, ran, run_id=run_id, engine=engine, started_at=started_at
                    )
                )
                continue
            why = "--fold" if request.folds else "--fail-fast stopped the run"
            note = (
                f"no result written for {plan.bundle.spec.id}: {len(ran)} of {len(folds)} folds "
                f"ran ({why}); the finished folds are stored and reused by a full run"
            )
            partial = build_result(plan, ran, run_id=run_id, engine=engine, started_at=started_at)
            stored.append(StoredResult(partial, None, note))
        self._store.finish()
        return stored

    def _plans(self, request: RunRequest) -> list[BundlePlan]:
        """Everything decided before any fold starts; impossible runs are refused here."""
        if request.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        isolated = self._provider.isolated
        if request.sealed_mode and not isolated:
            raise UsageError(
                "sealed mode needs isolation: a local process (--command) can read the sealed "
                "labels and the network; build an image and run it with --image"
            )
        if request.sealed_mode and request.times.given:
            raise UsageError(
                "--handshake/--fit/--predict-seconds are for dry runs; sealed evaluations run "
                "under the bundle's own time limits"
            )
        image = self._provider.describe_image(request.image)
        bundles = load_for_run(request.bundles, request.sealed)
        policy = LogPolicy.of(request.sealed_mode, request.log_lines)
        self._schedule = request.schedule or FoldSchedule.default(request.sealed_mode)
        team = request.team or team_of(request.image)
        runtime = self._provider.resolve_runtime(request.runtime) if isolated else None
        kind = self._provider.runtime_kind(runtime) if runtime else None
        for bundle in bundles:
            refused = refusal(bundle.spec.id, bundle.spec.required_runtime, runtime, kind)
            if refused:
                raise UsageError(refused)
        plans = [
            BundlePlan(
                bundle,
                applied_limits(bundle, request.resources, request.times),
                image,
                policy,
                team,
                isolated,
                resolve(request.probes, bundle.spec.probes),
                runtime,
            )
            for bundle in bundles
        ]
        unknown = set(request.folds) - {f for b in bundles for f in b.spec.folds}
        if unknown:
            known = ", ".join(f for b in bundles for f in b.spec.folds)
            raise UsageError(f"--fold {', '.join(sorted(unknown))}: no such fold (folds: {known})")
        for plan in plans:  # refuse impossible runs before anything starts
            self._provider.check(
                SandboxSpec(
                    image.id, plan.bundle.path, plan.applied, runtime=runtime or DEFAULT_RUNTIME
                )
            )
        return plans

    @staticmethod
    def _selected(plan: BundlePlan, request: RunRequest) -> list[FoldPaths]:
        folds = plan.bundle.folds
        return [f for f in folds if f.id in request.folds] if request.folds else folds

    def _run_folds(
        self, jobs: list[tuple[BundlePlan, FoldPaths]], run_id: str, workers: int, fail_fast: bool
    ) -> dict[tuple[str, str], FoldReport]:
        reports: dict[tuple[str, str], FoldReport] = {}
        if not jobs:
            return reports
        stop = threading.Event()  # --fail-fast: start nothing after a submission's fault
        turns = threading.Semaphore(workers)  # containers at once; scoring runs behind them

        def one(plan: BundlePlan, fold: FoldPaths) -> FoldReport | None:
            bundle = plan.bundle
            if stop.is_set():
                return None

            def on_phase(phase: str) -> None:
                self._listener.fold_phase(bundle.spec.id, fold.id, phase)

            with contextlib.ExitStack() as turn:
                turn.enter_context(container_turn(turns, self.cancel))
                turn.enter_context(fold_slot(self._schedule, plan.image.id, self.cancel))
                if stop.is_set():
                    return None
                if self._schedule is FoldSchedule.ONE_PER_HOST:
                    self._provider.forget(plan.image)

                def on_judged(status: Status) -> None:
                    if fail_fast and status not in (Status.OK, Status.INFRA_ERROR):
                        stop.set()
                    if self._schedule is FoldSchedule.CONCURRENT:
                        turn.close()  # the container is gone: the next fold may start

                report = evaluate_fold(
                    self._provider,
                    plan.job(fold.id, run_id),
                    cancel=self.cancel,
                    on_phase=on_phase,
                    on_judged=on_judged,
                )
            if self.cancel.is_set():
                return report  # interrupted: nothing of this fold is kept
            report = persist_fold(self._store, plan, report, run_id)
            self._listener.fold_finished(bundle.spec.id, report)
            return report

        threads = min(len(jobs), workers + SCORING_LAG)
        pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="airlock-fold")
        futures = {pool.submit(one, *job): (job[0].bundle.spec.id, job[1].id) for job in jobs}
        try:
            for future in concurrent.futures.as_completed(futures):
                if (report := future.result()) is not None:
                    reports[futures[future]] = report
        except BaseException:
            # Ctrl-C, SIGTERM or a bug: stop every fold; each one removes its own container.
            self.cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if self.cancel.is_set():
            raise Cancelled("run interrupted; finished folds are kept, no result was written")
        return reports
