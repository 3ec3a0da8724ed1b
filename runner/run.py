"""Running a submission image over one or more bundles: prepare, run folds, store results."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import platform
import socket
import stat
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from runner import __version__, limits, resume
from runner.bundle import manifest
from runner.bundle.load import Bundle, FoldPaths, load_bundle, suite_bundles
from runner.bundle.spec import parse_bytes
from runner.errors import BundleError, Cancelled, UsageError
from runner.evaluate import FoldJob, FoldReport, LogPolicy, evaluate_fold
from runner.limits import AppliedLimits
from runner.results.aggregate import aggregate
from runner.results.model import Provenance, SubmissionResult
from runner.results.statistics import task_statistics
from runner.results.store import ResultStore, result_key
from runner.sandbox.base import ImageInfo, SandboxProvider, SandboxSpec
from runner.schedule import FoldSchedule, fold_slot
from runner.sealing import minute
from runner.untrusted import shown_labels
from runner.verdict import Status


@dataclass(frozen=True)
class ResourceRequest:
    """What the submitter asks for; None means "what the bundle allows"."""

    memory: str | None = None
    cpus: float | None = None
    gpus: int | None = None


@dataclass(frozen=True)
class TimeRequest:
    """Shorter phase limits for a dry run (seconds); None means "what the bundle allows"."""

    handshake: float | None = None
    fit: float | None = None
    predict: float | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.handshake, self.fit, self.predict))


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


@dataclass(frozen=True)
class StoredResult:
    """A submission's result on a bundle and where it is stored; ``location`` is None when
    not every fold ran (``--fold``, ``--fail-fast``): ``note`` then says why, and nothing
    was written as a result (the finished folds are stored and reused later)."""

    result: SubmissionResult
    location: str | None
    note: str = ""


class RunListener:
    """Progress hooks; the CLI draws with them, tests may record them. Called from threads."""

    def run_started(self, folds: list[tuple[str, str]]) -> None:
        """The (bundle id, fold id) pairs about to run."""

    def fold_phase(self, bundle_id: str, fold_id: str, phase: str) -> None:
        """A fold entered a protocol phase."""

    def fold_finished(self, bundle_id: str, report: FoldReport) -> None:
        """A fold has its verdict."""


def _lowered(name: str, asked: float | None, allowed: float, bundle: Bundle) -> float:
    if asked is None:
        return allowed
    if not 0 < asked <= allowed:
        raise UsageError(
            f"--{name}-seconds {asked:g} must be above 0 and at most bundle "
            f"{bundle.spec.id!r}'s {allowed:g} s"
        )
    return asked


def applied_limits(
    bundle: Bundle, request: ResourceRequest, times: TimeRequest | None = None
) -> AppliedLimits:
    """The bundle's limits, lowered where the request asks for less; more is refused."""
    allowed = bundle.spec.resources
    memory = allowed.memory_bytes
    if request.memory is not None:
        try:
            asked = parse_bytes(request.memory)
        except ValueError as exc:
            raise UsageError(f"--memory: {exc}") from None
        if asked > memory:
            raise UsageError(
                f"--memory {request.memory} is more than bundle {bundle.spec.id!r} allows "
                f"({allowed.memory})"
            )
        memory = asked
    cpus = allowed.cpus
    if request.cpus is not None:
        if not 0 < request.cpus <= cpus:
            raise UsageError(
                f"--cpus {request.cpus:g} must be above 0 and at most the bundle's {cpus:g}"
            )
        cpus = request.cpus
    gpus = allowed.gpus
    if request.gpus is not None:
        if not 0 <= request.gpus <= gpus:
            raise UsageError(f"--gpus {request.gpus} must be between 0 and the bundle's {gpus}")
        gpus = request.gpus
    limits_of = bundle.spec.time_limits
    times = times or TimeRequest()
    return AppliedLimits(
        handshake_seconds=_lowered(
            "handshake", times.handshake, limits_of.handshake_seconds, bundle
        ),
        fit_seconds=_lowered("fit", times.fit, limits_of.fit_seconds, bundle),
        predict_seconds=_lowered("predict", times.predict, limits_of.predict_seconds, bundle),
        memory_bytes=memory,
        cpus=cpus,
        gpus=gpus,
        pids_limit=limits.PIDS_LIMIT,
        # /tmp lives in memory: cap it at half the memory limit so filling it ends in a
        # clear "no space" for the submission, not in an out-of-memory kill.
        tmpfs_bytes=min(limits.TMPFS_BYTES, memory // 2),
        user=limits.CONTAINER_USER,
        max_message_bytes=limits.MAX_MESSAGE_BYTES,
    )


def team_of(image_ref: str) -> str:
    """The default team: the image's repository name (``org/model:tag`` -> ``org/model``)."""
    name = image_ref.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def _sealed_dir_for(bundle_dir: Path, bundle_id: str, sealed: Path | None, several: bool) -> Path:
    if sealed is None:
        return bundle_dir / manifest.SEALED_DIR_NAME
    if (sealed / bundle_id).is_dir():
        return sealed / bundle_id
    if several:
        raise UsageError(
            f"--sealed {sealed}: with several bundles it must hold one sub-directory per bundle "
            f"id; {bundle_id!r} is missing"
        )
    return sealed


def load_for_run(paths: list[Path], sealed: Path | None) -> list[Bundle]:
    """Load and verify every bundle (public files and sealed commitments) before any run.
    A path may also be a directory of bundles."""
    paths = [found for path in paths for found in suite_bundles(path)]
    bundles = []
    seen: dict[str, Path] = {}
    for path in paths:
        bundle = load_bundle(path)
        if bundle.spec.id in seen:
            raise UsageError(
                f"bundle id {bundle.spec.id!r} given twice ({seen[bundle.spec.id]} and {path})"
            )
        seen[bundle.spec.id] = path
        sealed_dir = _sealed_dir_for(path, bundle.spec.id, sealed, len(paths) > 1)
        _check_sealed(bundle, sealed_dir, given=sealed is not None)
        for fold in bundle.folds:
            _check_readable_by_container(fold.train_dir)
        bundles.append(dataclasses.replace(bundle, sealed_dir=sealed_dir))
    return bundles


def _check_sealed(bundle: Bundle, sealed_dir: Path, *, given: bool) -> None:
    """The sealed labels are there and are this bundle's (one line saying what to do)."""
    where = "" if given else " (the bundle's own sealed/)"
    folds = bundle.spec.folds
    missing = [f for f in folds if not (sealed_dir / f / "y.csv").is_file()]
    if len(missing) == len(folds) or not (sealed_dir / manifest.SALT_NAME).is_file():
        raise BundleError(
            f"sealed labels of bundle {bundle.spec.id!r} not found in {sealed_dir}{where}: "
            "pass --sealed DIR, the directory holding <fold>/y.csv and SALT"
        )
    if missing:
        raise BundleError(f"{sealed_dir}: sealed labels missing for folds {missing}")
    try:
        problems = manifest.verify_sealed(sealed_dir, bundle.manifest, folds)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{sealed_dir}: cannot check sealed labels: {exc}") from exc
    if problems:
        raise BundleError(
            f"{sealed_dir}: the sealed labels of {len(problems)} of {len(folds)} folds do not "
            f"match bundle {bundle.spec.id!r}'s manifest (labels of another bundle, or changed "
            "since the manifest was written); pass this bundle's own sealed labels with "
            "--sealed DIR"
        )


def _check_readable_by_container(train_dir: Path) -> None:
    """The submission runs as an unprivileged user: its train files must be world-readable,
    or it would fail in a way that looks like its own fault."""
    for path in [train_dir, *train_dir.iterdir()]:
        mode = path.stat().st_mode
        needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needed != needed:
            raise BundleError(
                f"{path}: not readable by the container's user (mode {stat.filemode(mode)}); "
                f"run: chmod -R o+rX {train_dir}"
            )


@dataclass(frozen=True)
class Plan:
    """One bundle of a run, with everything decided before its folds start."""

    bundle: Bundle
    applied: AppliedLimits
    image: ImageInfo
    policy: LogPolicy
    team: str
    isolated: bool = True

    @property
    def key(self) -> str:
        return result_key(self.image.id, self.bundle.spec.id, self.bundle.hash, self.team)

    @property
    def fingerprint(self) -> str:
        return resume.fingerprint(
            self.image.id,
            self.bundle.hash,
            self.applied,
            self.policy.sealed,
            self.policy.tail_lines,
        )

    def job(self, fold_id: str, run_id: str) -> FoldJob:
        """What evaluating one of its folds needs."""
        fold = self.bundle.fold(fold_id)
        return FoldJob(self.bundle, fold, self.image, self.applied, run_id, self.policy)


def stored_fold(store: ResultStore, plan: Plan, fold_id: str) -> FoldReport | None:
    """A finished fold of an earlier run (or another worker) that may stand in for this one."""
    record = resume.reusable(
        store.get_artifact(plan.key, resume.record_name(fold_id)), plan.fingerprint
    )
    if record is None:
        return None
    scored = None
    if record.scored_truth is not None and record.scored_score is not None:
        scored = (np.array(record.scored_truth, dtype=np.int8), np.array(record.scored_score))
    result = record.result.model_copy(
        update={"reused_from": record.result.reused_from or record.run_id}
    )
    return FoldReport(result, None, "", scored, private=record.private)


def persist_fold(store: ResultStore, plan: Plan, report: FoldReport, run_id: str) -> FoldReport:
    """Store a finished fold at once (artifacts first, the record last)."""
    fold = report.result
    update: dict[str, str] = {}
    if report.predictions_csv is not None:
        update["predictions_file"] = f"predictions/{fold.fold_id}.csv"
        store.put_artifact(plan.key, update["predictions_file"], report.predictions_csv)
    if report.log_text:
        update["log_file"] = f"logs/{fold.fold_id}.stderr.log"
        store.put_artifact(plan.key, update["log_file"], report.log_text.encode())
    result = fold.model_copy(update=update)
    private = report.private.model_copy(update=update) if report.private is not None else None
    if plan.policy.sealed:
        result = result.model_copy(update={"log_file": None})
    truth, score = report.scored if report.scored is not None else (None, None)
    record = resume.FoldRecord(
        fingerprint=plan.fingerprint,
        run_id=run_id,
        result=result,
        private=private,
        scored_truth=truth.astype(int).tolist() if truth is not None else None,
        scored_score=score.tolist() if score is not None else None,
    )
    store.put_artifact(
        plan.key, resume.record_name(fold.fold_id), record.model_dump_json().encode()
    )
    return FoldReport(result, report.predictions_csv, report.log_text, report.scored, private)


def assemble_result(
    store: ResultStore,
    plan: Plan,
    reports: list[FoldReport],
    *,
    run_id: str,
    engine: str,
    started_at: datetime,
) -> StoredResult:
    """The submission's result on the bundle from all its folds; stored last."""
    result = build_result(plan, reports, run_id=run_id, engine=engine, started_at=started_at)
    return StoredResult(result, store.put_result(plan.key, result))


def build_result(
    plan: Plan,
    reports: list[FoldReport],
    *,
    run_id: str,
    engine: str,
    started_at: datetime,
) -> SubmissionResult:
    """The submission's result on the bundle from the given folds (not stored)."""
    bundle, applied, image = plan.bundle, plan.applied, plan.image
    folds = [report.result for report in reports]
    spec = bundle.spec
    return SubmissionResult(
        provenance=Provenance(
            runner_version=__version__,
            protocol_version=limits.PROTOCOL_VERSION,
            run_id=run_id,
            image_ref=image.ref,
            image_id=image.id,
            repo_digests=image.repo_digests,
            image_labels=shown_labels(image.labels),
            bundle_id=spec.id,
            bundle_title=spec.title,
            bundle_hash=bundle.hash,
            bundle_path=str(bundle.path),
            synthetic_data=spec.synthetic,
            host=socket.gethostname(),
            engine=engine,
            python=platform.python_version(),
            started_at=started_at,
            finished_at=minute(datetime.now(UTC)) if plan.policy.sealed else datetime.now(UTC),
            limits=applied,
            team=plan.team,
            benchmark=spec.benchmark.as_dict() if spec.benchmark is not None else None,
            log_policy="sealed" if plan.policy.sealed else "dry-run",
            isolation="container" if plan.isolated else "none",
            participant_log_lines=plan.policy.tail_lines,
        ),
        task_type=str(spec.task_type),
        primary_metric=spec.metrics.primary,
        metrics=spec.metrics.all,
        folds=folds,
        aggregate=aggregate(folds, spec.metrics.primary),
        statistics=task_statistics(spec, folds, [report.scored for report in reports]),
    )


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

    def _plans(self, request: RunRequest) -> list[Plan]:
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
        plans = [
            Plan(bundle, applied_limits(bundle, request.resources, request.times), image, policy,
                 team, isolated)
            for bundle in bundles
        ]  # fmt: skip
        unknown = set(request.folds) - {f for b in bundles for f in b.spec.folds}
        if unknown:
            known = ", ".join(f for b in bundles for f in b.spec.folds)
            raise UsageError(f"--fold {', '.join(sorted(unknown))}: no such fold (folds: {known})")
        for plan in plans:  # refuse impossible runs before anything starts
            self._provider.check(SandboxSpec(image.id, plan.bundle.path, plan.applied))
        return plans

    @staticmethod
    def _selected(plan: Plan, request: RunRequest) -> list[FoldPaths]:
        folds = plan.bundle.folds
        return [f for f in folds if f.id in request.folds] if request.folds else folds

    def _run_folds(
        self, jobs: list[tuple[Plan, FoldPaths]], run_id: str, workers: int, fail_fast: bool
    ) -> dict[tuple[str, str], FoldReport]:
        reports: dict[tuple[str, str], FoldReport] = {}
        if not jobs:
            return reports
        stop = threading.Event()  # --fail-fast: start nothing after a submission's fault

        def one(plan: Plan, fold: FoldPaths) -> FoldReport | None:
            bundle = plan.bundle
            if stop.is_set():
                return None

            def on_phase(phase: str) -> None:
                self._listener.fold_phase(bundle.spec.id, fold.id, phase)

            with fold_slot(self._schedule, plan.image.id, self.cancel):
                if stop.is_set():
                    return None
                if self._schedule is FoldSchedule.ONE_PER_HOST:
                    self._provider.forget(plan.image)
                report = evaluate_fold(
                    self._provider,
                    plan.job(fold.id, run_id),
                    cancel=self.cancel,
                    on_phase=on_phase,
                )
            if self.cancel.is_set():
                return report  # interrupted: nothing of this fold is kept
            report = persist_fold(self._store, plan, report, run_id)
            if fail_fast and report.result.status not in (Status.OK, Status.INFRA_ERROR):
                stop.set()
            self._listener.fold_finished(bundle.spec.id, report)
            return report

        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="airlock-fold")
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
