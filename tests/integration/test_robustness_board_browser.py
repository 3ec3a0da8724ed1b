"""The leaderboard's robustness column in a real browser (headless Chromium): the score per
row, a small curve per task with probe results, sorting by it, the same column in Markdown,
and nothing fetched. The screenshot is kept in test-artifacts/leaderboard-robustness.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from runner.leaderboard import render
from runner.leaderboard.ranking import build_boards
from runner.leaderboard.robustness import Robustness
from runner.results.model import ProbeLevelResult, SubmissionResult, TaskStatistics
from runner.results.robustness import bundle_robustness
from tests.integration.conftest import ARTIFACTS
from tests.unit.test_leaderboard_ranking import result
from tests.unit.test_probes import _fold, _level


def _levels(loss: float) -> list[ProbeLevelResult]:
    """Three kinds whose metric falls from 0.9 as the strength grows, each its own way."""
    levels = [
        _level(kind, level, max(0.5, 0.9 - loss * factor * (level / top) ** power))
        for kind, top, grid, factor, power in (
            ("dropout", 0.5, (0.1, 0.25, 0.5), 1.0, 1.0),
            ("noise", 2.0, (0.25, 0.5, 1.0, 2.0), 1.5, 2.0),
            ("shift", 0.5, (0.1, 0.25, 0.5), 0.5, 0.5),
        )
        for level in grid
    ]
    return [*levels, _level("permutation", 1.0, 0.9)]


def _probed(item: SubmissionResult, loss: float) -> SubmissionResult:
    summary = bundle_robustness([_fold("f0", _levels(loss)), _fold("f1", _levels(loss))])
    return item.model_copy(update={"statistics": TaskStatistics(robustness=summary)})


def test_the_board_shows_robustness_scores_and_curves(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = [
        _probed(result("steady", "a", "task1", [0.9, 0.8]), 0.1),
        _probed(result("steady", "a", "task2", [0.7, 0.75]), 0.2),
        _probed(result("brittle", "b", "task1", [0.95, 0.9]), 0.4),
        result("brittle", "b", "task2", [0.95, 0.9]),
        result("unprobed", "c", "task1", [0.6, 0.6]), result("unprobed", "c", "task2", [0.6, 0.6]),
    ]  # fmt: skip
    boards, robustness = build_boards(results), Robustness.of(results)
    (board,) = boards
    markdown = render.markdown(boards, robustness)
    header_line = next(line for line in markdown.splitlines() if line.startswith("| rank"))
    assert "| robustness |" in header_line
    assert "(1 of 2 tasks)" in markdown  # brittle has probes on one task only
    assert "| robustness |" not in render.markdown(boards)  # without probe results: as before
    page_path = tmp_path / "leaderboard.html"
    page_path.write_text(render.html_page(boards, robustness))
    page = browser.new_page(viewport={"width": 1500, "height": 700})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_path.as_uri())
    assert page.locator("svg.robustness").count() == 3  # steady: 2 tasks, brittle: 1
    assert page.locator("polyline.robustness-curve").count() == 9  # 3 kinds each
    assert page.locator("polyline[data-probe='noise']").count() == 3
    header = page.locator("th", has_text="robustness")
    header.click()  # descending: steady (lose least) first, the row without probes last
    order = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert order == ["steady", "brittle", "unprobed"]
    scores = {row.team: robustness.score(board, row)[0] for row in board.rows}
    assert scores["steady"] > scores["brittle"] and scores["unprobed"] is None  # type: ignore[operator]
    title = page.locator("svg.robustness title").first.text_content() or ""
    assert "dropout rAUC" in title and "permutation agreement 1.00" in title
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-robustness.png"), full_page=True)
    assert all(url.startswith("file://") for url in requests), requests


def test_the_csv_has_each_tasks_robustness_score() -> None:
    results = [
        _probed(result("steady", "a", "task1", [0.9, 0.8]), 0.1),
        result("steady", "a", "task2", [0.7, 0.75]),
        result("unprobed", "c", "task1", [0.6, 0.6]), result("unprobed", "c", "task2", [0.6, 0.6]),
    ]  # fmt: skip
    boards, robustness = build_boards(results), Robustness.of(results)
    (board,) = boards
    rows = list(csv.DictReader(io.StringIO(render.csv_text(boards, robustness))))
    by_key = {(r["team"], r["task"]): r["robustness"] for r in rows}
    steady = next(row for row in board.rows if row.team == "steady")
    (_, summary), _ = robustness.entries(board, steady)
    assert summary is not None and by_key[("steady", "task1")] == f"{summary.score:.6f}"
    assert by_key[("steady", "task2")] == "" and by_key[("unprobed", "task1")] == ""
    # Without probe results, the column is there and empty: the same shape either way.
    plain = list(csv.DictReader(io.StringIO(render.csv_text(boards))))
    assert plain and all(r["robustness"] == "" for r in plain)
    # Under the Ladder robustness is withheld (it is computed from the exact scores).
    laddered = build_boards(results, ladder=0.01)
    rows = list(csv.DictReader(io.StringIO(render.csv_text(laddered, robustness))))
    assert rows and all(r["robustness"] == "" for r in rows)
