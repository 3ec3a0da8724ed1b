"""Ranking submissions by the hosted benchmark's own rules (pure; no I/O).

One board per benchmark found in the store: SpaceOmicsBench (normalized scores against the
published random references, category means, composite without E2/E3), GeneLab (per-task
mean AUROC with its CI, p and GO/NO-GO; no GO/NO-GO for cross-mission pairs; ranked by the
mean of task AUROCs), and the other bundles (mean primary metric; ranked by its mean).

A board knows its task set: the bundles declared for it (the suite or phase, see
:func:`declared_tasks`) and every bundle any submission on it ran. A submission ranks in
three tiers: every task scored, then some task failed, undefined or missing (a task it did
not run counts as failed), then nothing scored. Within a tier the composite decides. So a
failed, undefined or partial submission ranks below every complete one, never above.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from runner.bundle.spec import BundleSpec
from runner.leaderboard import ladder as ladders
from runner.leaderboard.board_stats import annotate
from runner.leaderboard.model import (
    COMPOSITE_LABELS,
    DEFAULT_RESAMPLING,
    RULES,
    SUITE_TITLES,
    Board,
    BoardKey,
    BoardTask,
    DeclaredTask,
    Entry,
    Resampling,
    Row,
    Suite,
    sort_key,
)
from runner.results.model import SubmissionResult
from runner.scoring import spaceomics
from runner.task_types import METRIC_KINDS as METRICS
from runner.verdict import Status

__all__ = [
    "Board",
    "BoardTask",
    "DeclaredTask",
    "Entry",
    "Resampling",
    "Row",
    "Suite",
    "build_boards",
    "declared_tasks",
    "entry_of",
    "one_per_team",
    "rank",
    "sort_key",
]


def declared_tasks(specs: list[BundleSpec]) -> list[DeclaredTask]:
    """The tasks of a suite (or a competition phase), from its bundles' specs."""
    declared = []
    for spec in specs:
        benchmark = spec.benchmark
        suite: Suite = "other"
        task, variant = spec.id, ""
        if benchmark is not None and benchmark.suite in ("spaceomicsbench", "genelab"):
            suite = benchmark.suite
            task, variant = benchmark.task_id, benchmark.variant or ""
        declared.append(DeclaredTask(suite, variant, spec.id, task, spec.metrics.primary))
    return declared


def _missing(bundle_id: str, task: str, metric: str) -> Entry:
    return Entry(
        bundle_id=bundle_id, task=task, metric=metric, status="missing", score=None,
        mean=None, sd=None, low=None, high=None, reason="not submitted",
    )  # fmt: skip


def suite_of(result: SubmissionResult) -> Suite:
    benchmark = result.provenance.benchmark
    suite = (benchmark or {}).get("suite") or (
        "spaceomicsbench" if result.provenance.bundle_id.startswith("spaceomicsbench-")
        else "genelab" if result.provenance.bundle_id.startswith("genelab-")
        else "other"
    )  # fmt: skip
    return suite if suite in ("spaceomicsbench", "genelab") else "other"  # type: ignore[return-value]


def benchmark_of(result: SubmissionResult) -> tuple[str, str]:
    """(task id, variant) of a benchmark bundle, from provenance or from our bundle ids."""
    benchmark = result.provenance.benchmark or {}
    if benchmark.get("task_id"):
        return benchmark["task_id"], benchmark.get("variant", "")
    bundle = result.provenance.bundle_id
    if bundle.startswith("spaceomicsbench-"):  # spaceomicsbench-v2.1-F4@corrected
        task, _, variant = bundle.rsplit("-", 1)[-1].partition("@")
        if variant == "" and "@" in bundle:
            task, variant = bundle.split("-v2.1-", 1)[-1].split("@", 1)
        return task, variant
    if bundle.startswith("genelab-"):  # genelab-A4-thymus-pathway-hallmark
        parts = bundle.split("-")
        return parts[1], "-".join(parts[3:])
    return bundle, ""


def _task_label(result: SubmissionResult) -> str:
    return benchmark_of(result)[0]


def _phase_total(result: SubmissionResult, phase: str) -> float | None:
    values = [
        f.resources.phases[phase].wall_seconds for f in result.folds if phase in f.resources.phases
    ]
    return float(sum(values)) if values else None


def entry_of(result: SubmissionResult, suite: Suite) -> Entry:
    agg = result.aggregate
    metric = result.primary_metric
    summary = result.statistics.metrics.get(metric)
    failed = [f for f in result.folds if f.status is not Status.OK]
    peaks = [f.resources.peak_memory_bytes for f in result.folds if f.resources.peak_memory_bytes]
    make = functools.partial(
        Entry,
        bundle_id=result.provenance.bundle_id,
        task=_task_label(result),
        metric=metric,
        fit_seconds=_phase_total(result, "fit"),
        predict_seconds=_phase_total(result, "predict"),
        peak_memory_bytes=max(peaks) if peaks else None,
    )
    if failed:
        reasons = sorted({f"{f.status}" for f in failed})
        return make(
            status="failed", score=None, mean=agg.mean, sd=agg.sd, low=None, high=None,
            reason=f"{len(failed)} of {len(result.folds)} folds {', '.join(reasons)}",
        )  # fmt: skip
    if agg.mean is None or agg.undefined_folds:
        return make(
            status="undefined", score=None, mean=agg.mean, sd=agg.sd, low=None, high=None,
            reason=f"{metric} undefined on {len(agg.undefined_folds) or len(result.folds)} fold(s)",
        )  # fmt: skip
    mean, sd = agg.mean, agg.sd or 0.0
    low, high = mean - sd, mean + sd
    genelab = result.statistics.genelab
    perm_p = go = None
    if genelab is not None and metric == "auroc":
        low = genelab.mean_ci_lower if genelab.mean_ci_lower is not None else low
        high = genelab.mean_ci_upper if genelab.mean_ci_upper is not None else high
        perm_p, go = genelab.mean_perm_p, genelab.go_nogo
    higher = METRICS[metric].higher_is_better if metric in METRICS else True
    folds = {f.fold_id: float(v) for f in result.folds if (v := f.metrics.get(metric)) is not None}
    reference = None
    if suite == "spaceomicsbench":
        score = result.statistics.normalized_score
        if score is None and summary is not None and result.statistics.random_reference is not None:
            score = spaceomics.normalized_score(summary.mean, result.statistics.random_reference)
        reference = result.statistics.random_reference if score is not None else None
        score = score if score is not None else mean
    else:
        score = mean if higher else -mean
        folds = {fold: value if higher else -value for fold, value in folds.items()}
    return make(status="scored", score=score, mean=mean, sd=agg.sd, low=low, high=high,
                 perm_p=perm_p, go_nogo=go, folds=folds, reference=reference)  # fmt: skip


def _composite(row: Row, suite: Suite) -> None:
    scored = {
        e.task: e.score
        for e in row.entries.values()
        if e.status == "scored" and e.score is not None
    }
    if not scored:
        row.composite = None
        return
    if suite == "spaceomicsbench":
        summary = spaceomics.composite({task: float(v) for task, v in scored.items()})
        row.categories = summary["categories"]
        row.composite = summary["composite"]
        if row.composite is None:  # only excluded tasks (E2/E3): fall back to their mean
            row.composite = float(np.mean(list(scored.values())))
    else:
        row.composite = float(np.mean(list(scored.values())))


def build_boards(
    results: list[SubmissionResult],
    per_team: Literal["best", "latest"] = "best",
    declared: list[DeclaredTask] | None = None,
    *,
    resampling: Resampling | None = DEFAULT_RESAMPLING,
    ladder: float | None = None,
) -> list[Board]:
    """One board per benchmark; one row per team (its best or its latest submission).

    A submission is a (team, image) pair: the same image under two teams is two rows. Each
    board carries rank intervals and groups computed with ``resampling`` (None: none). With
    ``ladder`` (a step > 0), each team's row is its public (laddered) score instead
    (:mod:`runner.leaderboard.ladder`), and the board has no intervals: they would reveal
    the exact scores the Ladder withholds.
    """
    if ladder is not None:
        ladders.check_step(ladder)
    by_board: dict[BoardKey, dict[tuple[str, str], Row]] = {}
    tasks: dict[BoardKey, dict[str, BoardTask]] = {}
    for item in declared or []:
        by_board.setdefault((item.suite, item.variant), {})
        tasks.setdefault((item.suite, item.variant), {})[item.bundle_id] = (
            item.bundle_id,
            item.task,
            item.metric,
        )
    for result in sorted(results, key=lambda r: r.provenance.finished_at):
        suite = suite_of(result)
        board_key = (suite, benchmark_of(result)[1] if suite != "other" else "")
        entry = _add_result(by_board.setdefault(board_key, {}), result, suite)
        bundle_id = result.provenance.bundle_id
        tasks.setdefault(board_key, {}).setdefault(bundle_id, (bundle_id, entry.task, entry.metric))
    order = list(SUITE_TITLES)
    boards = [
        _board(key, submissions, tasks[key], per_team, ladder)
        for key, submissions in sorted(
            by_board.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
        )
    ]
    for board in boards:
        if ladder is None and resampling is not None:
            annotate(board, resampling)
    return boards


def _add_result(
    submissions: dict[tuple[str, str], Row], result: SubmissionResult, suite: Suite
) -> Entry:
    """Put ``result`` in its submission's row (made on first sight); return its entry."""
    provenance = result.provenance
    team = provenance.team or provenance.image_ref
    row = submissions.get((team, provenance.image_id))
    if row is None:
        row = submissions[(team, provenance.image_id)] = Row(
            team=team,
            image_ref=provenance.image_ref,
            image_id=provenance.image_id,
            finished_at=provenance.finished_at,
            provenance={
                "image id": provenance.image_id,
                "runner": provenance.runner_version,
                "libraries": provenance.image_labels.get("io.airlock.versions", ""),
            },
        )
    row.finished_at = max(row.finished_at, provenance.finished_at)
    # results written before the runtime was recorded ran under runc; a later result of the
    # same image on the bundle replaces the earlier one, runtimes included
    runtimes = {fold.resources.runtime or "runc" for fold in result.folds}
    row.runtimes_by_task[provenance.bundle_id] = runtimes
    row.provenance["runtime"] = ", ".join(sorted(row.runtimes))
    entry = entry_of(result, suite)
    row.entries[provenance.bundle_id] = entry  # a later run of the same image replaces
    row.provenance[f"bundle {entry.task}"] = (
        f"{provenance.bundle_hash[:19]}, run {provenance.run_id}"
    )
    return entry


def _board(
    key: BoardKey,
    submissions: dict[tuple[str, str], Row],
    tasks: dict[str, BoardTask],
    per_team: Literal["best", "latest"],
    ladder: float | None,
) -> Board:
    """A board's rows ranked, each with every task of the board (missing ones failed)."""
    suite, variant = key
    board_tasks = sorted(tasks.values(), key=lambda t: t[1])
    rows = list(submissions.values())
    for row in rows:
        for bundle_id, task, metric in board_tasks:
            row.entries.setdefault(bundle_id, _missing(bundle_id, task, metric))
        _composite(row, suite)
    return Board(
        suite=suite,
        title=SUITE_TITLES[suite] + (f" ({variant})" if variant else ""),
        rule=RULES[suite],
        tasks=board_tasks,
        rows=rank(
            one_per_team(rows, per_team) if ladder is None else ladders.public_rows(rows, ladder)
        ),
        composite_label=COMPOSITE_LABELS[suite],
        ladder=ladder,
    )


def one_per_team(rows: list[Row], per_team: Literal["best", "latest"]) -> list[Row]:
    """The row shown for each team, carrying how many submissions the team has."""
    chosen: dict[str, Row] = {}
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.team] = counts.get(row.team, 0) + 1
        current = chosen.get(row.team)
        newer = current is not None and row.finished_at > current.finished_at
        better = current is not None and sort_key(row) < sort_key(current)
        if current is None or (newer if per_team == "latest" else better):
            chosen[row.team] = row
    for team, row in chosen.items():
        row.submissions = counts[team]
    return list(chosen.values())


def rank(rows: list[Row]) -> list[Row]:
    """Complete before incomplete before nothing scored; then by composite, best first."""
    return sorted(rows, key=lambda r: (*sort_key(r), r.team))
