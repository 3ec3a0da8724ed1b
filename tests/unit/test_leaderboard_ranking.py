"""Ranking rules: real scores first, best first; failed and undefined entries never above."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest

from runner.leaderboard import render
from runner.leaderboard.ranking import build_boards
from runner.results.aggregate import aggregate
from runner.results.model import (
    AppliedLimits,
    FoldResources,
    FoldResult,
    PhaseUsage,
    Provenance,
    SubmissionResult,
)
from runner.verdict import Status

T0 = datetime(2026, 11, 1, tzinfo=UTC)
LIMITS = AppliedLimits(
    handshake_seconds=30, fit_seconds=60, predict_seconds=60, memory_bytes=2**30, cpus=1, gpus=0,
    pids_limit=256, tmpfs_bytes=2**28, user="10001:10001", max_message_bytes=2**24,
)  # fmt: skip


def result(
    team: str,
    image: str,
    bundle: str,
    values: list[float | None],
    *,
    status: Status = Status.OK,
    minutes: int = 0,
) -> SubmissionResult:
    folds = [
        FoldResult(
            fold_id=f"f{n}", status=status if n == 0 else Status.OK, reason="" if status is Status.OK or n else "fit phase exceeded",
            n_test=10, metrics={} if status is not Status.OK and n == 0 else {"auroc": v},
            resources=FoldResources(phases={"fit": PhaseUsage(wall_seconds=1.0), "predict": PhaseUsage(wall_seconds=0.5)}, wall_seconds=2.0, peak_memory_bytes=2**26),
            started_at=T0, finished_at=T0,
        )
        for n, v in enumerate(values)
    ]  # fmt: skip
    when = T0 + timedelta(minutes=minutes)
    return SubmissionResult(
        provenance=Provenance(
            runner_version="0", protocol_version=1, run_id=f"run-{image}", image_ref=f"{team}/model:{image}",
            image_id=f"sha256:{image * 12}"[:71], bundle_id=bundle, bundle_title=bundle, bundle_hash="sha256:" + "b" * 64,
            bundle_path="/b", synthetic_data=True, host="h", engine="e", python="3", started_at=when,
            finished_at=when, limits=LIMITS, team=team,
        ),
        task_type="binary", primary_metric="auroc", metrics=["auroc"], folds=folds,
        aggregate=aggregate(folds, "auroc"),
    )  # fmt: skip


def test_failed_and_undefined_rank_below_every_real_score() -> None:
    results = [
        result("strong", "a", "task1", [0.9, 0.8]) , result("strong", "a", "task2", [0.7, 0.7]),
        result("weak", "b", "task1", [0.55, 0.5]), result("weak", "b", "task2", [0.4, 0.5]),
        result("failing", "c", "task1", [None, 0.99], status=Status.TIMEOUT), result("failing", "c", "task2", [0.99, 0.99]),
        result("undefined", "d", "task1", [None, None]), result("undefined", "d", "task2", [None, None]),
        result("crashed", "e", "task1", [None, None], status=Status.CRASHED),
    ]  # fmt: skip
    (board,) = build_boards(results)
    # real scores first (best first), then the partly failed one, then nothing scored (by name)
    assert [row.team for row in board.rows] == ["strong", "weak", "failing", "crashed", "undefined"]
    strong, weak, failing = board.rows[:3]
    assert strong.composite == pytest.approx((0.85 + 0.7) / 2)
    assert weak.composite == pytest.approx((0.525 + 0.45) / 2)
    assert failing.entries["task1"].status == "failed"
    assert failing.tier == 1  # its 0.99 on task2 does not lift it above complete submissions
    assert {row.tier for row in board.rows[3:]} == {2}
    page = render.html_page([board])
    assert page.count("<tr data-team=") == 5
    assert 'data-team="strong"' in page.split('data-team="weak"')[0]
    assert "http://" not in page
    assert "https://" not in page
    lines = render.csv_text([board]).splitlines()
    assert lines[1].startswith("Other bundles,1,strong,")


def test_one_row_per_team_best_or_latest() -> None:
    results = [
        result("team", "a", "task1", [0.9, 0.9], minutes=0),
        result("team", "b", "task1", [0.6, 0.6], minutes=5),
        result("other", "c", "task1", [0.7, 0.7]),
    ]
    best = build_boards(results, "best")[0]
    latest = build_boards(results, "latest")[0]
    assert [(r.team, r.composite) for r in best.rows] == [
        ("team", pytest.approx(0.9)),
        ("other", pytest.approx(0.7)),
    ]
    assert [(r.team, r.composite) for r in latest.rows] == [
        ("other", pytest.approx(0.7)),
        ("team", pytest.approx(0.6)),
    ]


def test_a_submission_missing_a_task_ranks_below_every_complete_one() -> None:
    """One task of a four-task suite, even with a perfect score, is not a win: the missing
    tasks count as failed, are shown as missing in HTML, Markdown and CSV, and the caption
    says so."""
    tasks = ["task1", "task2", "task3", "task4"]
    results = [result("complete", "a", task, [0.6, 0.6]) for task in tasks]
    results.append(result("partial", "b", "task1", [1.0, 1.0]))
    (board,) = build_boards(results)
    assert [row.team for row in board.rows] == ["complete", "partial"]
    partial = board.rows[1]
    assert partial.tier == 1
    assert [partial.entries[t].status for t in tasks] == ["scored", "missing", "missing", "missing"]
    assert [t[0] for t in board.tasks] == tasks
    assert "ranks below every complete one" in board.caption
    assert "missing" in render.markdown([board]).split("partial")[1]
    assert "missing<br><small>not submitted</small>" in render.html_page([board])
    rows = [line.split(",") for line in render.csv_text([board]).splitlines()[1:]]
    partial_rows = [r for r in rows if r[2] == "partial"]
    assert len(partial_rows) == 4  # one per task of the board, missing ones included
    assert sorted(r[10] for r in partial_rows) == ["missing", "missing", "missing", "scored"]


def test_declared_tasks_count_even_when_nobody_ran_them() -> None:
    from runner.bundle.spec import BundleSpec
    from runner.leaderboard.ranking import declared_tasks

    def spec(bundle_id: str) -> BundleSpec:
        return BundleSpec.model_validate(
            {"id": bundle_id, "title": bundle_id, "task_type": "binary",
             "classes": ["n", "p"], "positive_class": "p", "metrics": {"primary": "auroc"},
             "split": {"kind": "kfold"}, "folds": ["f0"]}
        )  # fmt: skip

    declared = declared_tasks([spec("task1"), spec("task2")])
    (board,) = build_boards([result("only", "a", "task1", [0.9, 0.9])], declared=declared)
    assert [t[0] for t in board.tasks] == ["task1", "task2"]
    assert board.rows[0].entries["task2"].status == "missing"
    assert board.rows[0].tier == 1


def test_the_same_image_under_two_teams_is_two_rows() -> None:
    results = [
        result("team-a", "a", "task1", [0.7, 0.7], minutes=0),
        result("team-b", "a", "task1", [0.7, 0.7], minutes=5),
    ]
    (board,) = build_boards(results)
    assert sorted(row.team for row in board.rows) == ["team-a", "team-b"]


def test_boards_say_what_each_number_is_and_count_submissions() -> None:
    results = [
        result("t", "a", "task1", [0.6, 0.6], minutes=0),
        result("t", "b", "task1", [0.8, 0.8], minutes=10),
        result("u", "c", "task1", [0.5, 0.5], minutes=20),
    ]
    (board,) = build_boards(results)
    first = board.rows[0]
    assert (first.team, first.image_id[7:8], first.submissions) == ("t", "b", 2)
    page = html.unescape(render.html_page([board]))
    md = render.markdown([board])
    for text in (page, md):
        assert "composite (mean of primary metrics)" in text
        assert "submitted (UTC)" in text and "submissions" in text
        assert "sums over tasks of the folds' fit and predict wall times" in text
    assert "task1 (auroc)" in md
    assert "2026-11-01 00:10" in md
