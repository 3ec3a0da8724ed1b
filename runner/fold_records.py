"""A fold's record is stored the moment it ends (so a killed run loses only the folds that
were running), reused by a later run of the same submission, and a submission's result on a
bundle is assembled from its folds and stored last."""

from __future__ import annotations

import platform
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from runner import __version__, limits, resume
from runner.evaluate import FoldReport
from runner.plan import BundlePlan
from runner.results.aggregate import aggregate
from runner.results.model import Provenance, SubmissionResult
from runner.results.statistics import task_statistics
from runner.results.store import ResultStore
from runner.sealing import minute
from runner.untrusted import shown_labels


@dataclass(frozen=True)
class StoredResult:
    """A submission's result on a bundle and where it is stored; ``location`` is None when
    not every fold ran (``--fold``, ``--fail-fast``): ``note`` then says why, and nothing
    was written as a result (the finished folds are stored and reused later)."""

    result: SubmissionResult
    location: str | None
    note: str = ""


def stored_fold(store: ResultStore, plan: BundlePlan, fold_id: str) -> FoldReport | None:
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


def persist_fold(
    store: ResultStore, plan: BundlePlan, report: FoldReport, run_id: str
) -> FoldReport:
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
    plan: BundlePlan,
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
    plan: BundlePlan,
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
            runtime=plan.runtime,
        ),
        task_type=str(spec.task_type),
        primary_metric=spec.metrics.primary,
        metrics=spec.metrics.all,
        folds=folds,
        aggregate=aggregate(folds, spec.metrics.primary),
        statistics=task_statistics(spec, folds, [report.scored for report in reports]),
    )
