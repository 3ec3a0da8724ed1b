"""The leaderboard page in a real browser: headless Chromium (Debian's package) opens the
file, the table rows and charts are there, sorting works, and nothing is fetched from the
network; the rank intervals, groups and significance map are drawn where they belong, and
a laddered board shows only public scores. Screenshots are kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runner.leaderboard import render
from runner.leaderboard.ranking import build_boards
from runner.results.model import SubmissionResult
from tests.integration.conftest import ARTIFACTS
from tests.unit.test_leaderboard_ranking import result


def test_leaderboard_page_ranks_sorts_and_charts(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = [
        result("strong", "a", "task1", [0.9, 0.8]), result("strong", "a", "task2", [0.7, 0.75]),
        result("weak", "b", "task1", [0.55, 0.5]), result("weak", "b", "task2", [0.95, 0.9]),
        result("failing", "c", "task1", [None, 0.99], status=__import__("runner.verdict").verdict.Status.TIMEOUT),
        result("failing", "c", "task2", [0.6, 0.6]),
    ]  # fmt: skip
    page_path = tmp_path / "leaderboard.html"
    page_path.write_text(render.html_page(build_boards(results)))
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_path.as_uri())
    teams = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert teams == ["strong", "weak", "failing"]
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart rect.bar").count() == 5  # 3 + 2 scored entries
    assert page.locator("svg.chart path.whisker").count() == 5
    task2 = page.locator("th", has_text="task2")
    task2.click()  # descending by task2: weak (0.925) first, failing's real 0.6 last of the scored
    order = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert order == ["weak", "strong", "failing"]
    task1 = page.locator("th", has_text="task1")
    task1.click()
    task1.click()  # ascending: the failed entry still sorts last
    order = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert order == ["weak", "strong", "failing"]
    page.locator("details summary", has_text="strong").click()
    assert page.locator("details[open] dd").first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-test.png"), full_page=True)
    assert all(url.startswith("file://") for url in requests), requests


def _uncertain_results() -> list[SubmissionResult]:
    """Six teams on three 4-fold tasks: two near the top, one just behind, three clearly
    apart; and one team that skipped a task."""
    rng = np.random.default_rng(3)
    skills = [("alpha", 0.80), ("bravo", 0.79), ("charlie", 0.75), ("delta", 0.70),
              ("echo", 0.60), ("foxtrot", 0.55)]  # fmt: skip
    results = [
        result(team, chr(97 + i), task, list(np.clip(skill + rng.normal(0, 0.04, 4), 0, 1)))
        for i, (team, skill) in enumerate(skills)
        for task in ("task1", "task2", "task3")
    ]
    results += [result("partial", "g", task, [0.95] * 4) for task in ("task1", "task2")]
    return results


def test_uncertainty_columns_and_significance_map(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (board,) = build_boards(_uncertain_results())
    page_path = tmp_path / "leaderboard.html"
    page_path.write_text(render.html_page([board]))
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_path.as_uri())
    rows = page.locator("table.board tbody tr")
    teams = rows.evaluate_all("rows => rows.map(r => r.dataset.team)")
    assert teams[:2] == ["alpha", "bravo"] and teams[-1] == "partial"
    groups = rows.evaluate_all("rows => rows.map(r => +r.dataset.group)")
    assert groups == [row.stats.group for row in board.rows if row.stats]
    assert groups[0] == groups[1] == 1 and groups == sorted(groups)  # a tie at the top
    assert groups[-1] > groups[-2]  # the incomplete team never shares a complete one's group
    # one interval glyph per row, medians left to right down the board
    assert page.locator("svg.rank-interval").count() == len(board.rows)
    medians = page.locator("svg.rank-interval circle.median").evaluate_all(
        "cs => cs.map(c => +c.getAttribute('cx'))"
    )
    assert medians == sorted(medians) and medians[0] < medians[-1]
    assert page.locator("svg.rank-interval").first.is_visible()
    spans = page.locator("svg.rank-interval line.interval").evaluate_all(
        "ls => ls.map(l => +l.getAttribute('x2') - +l.getAttribute('x1'))"
    )
    assert spans[0] > 0 and spans[1] > 0  # the two at the top could each be first
    # the map: the six complete teams and the partial one, both ways; diagonal blank
    cells = page.locator("svg.significance-map rect.cell")
    assert cells.count() == 7 * 7
    fills = cells.evaluate_all("cs => cs.map(c => [c.getAttribute('fill'), c.dataset.p])")
    top_pair, far_pair = fills[0 * 7 + 1], fills[0 * 7 + 5]  # alpha-bravo, alpha-foxtrot
    assert top_pair[0] == "#e3e6ea" and float(top_pair[1]) >= 0.05
    assert far_pair[0] != "#e3e6ea" and float(far_pair[1]) < 0.05
    assert fills[0][0] == "#ffffff" and fills[0][1] == ""
    title = page.locator("svg.significance-map rect.cell title").nth(5).text_content()
    assert title is not None and title.startswith("alpha vs foxtrot: p = ")
    caption = page.locator("p.rule").nth(1).text_content() or ""
    assert "2000 bootstrap resamples" in caption and "(seed 0)" in caption
    share = page.locator("th", has_text="share first")
    share.click()  # descending by share of resamples ranked first: alpha or bravo on top
    first = rows.first.get_attribute("data-team")
    assert first in ("alpha", "bravo")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-uncertainty.png"), full_page=True)
    page.locator("svg.significance-map").screenshot(
        path=str(ARTIFACTS / "leaderboard-significance-map.png")
    )
    assert all(url.startswith("file://") for url in requests), requests


def test_laddered_board_in_the_browser(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    results = [
        result("climber", "a", "task1", [0.70, 0.70], minutes=0),
        result("climber", "b", "task1", [0.705, 0.705], minutes=1),
        result("steady", "c", "task1", [0.68, 0.68], minutes=0),
    ]
    page_path = tmp_path / "leaderboard.html"
    page_path.write_text(render.html_page(build_boards(results, ladder=0.01)))
    page = browser.new_page(viewport={"width": 1366, "height": 600})
    page.goto(page_path.as_uri())
    assert page.locator("svg.rank-interval").count() == 0
    assert page.locator("svg.significance-map").count() == 0
    composite = page.locator("table.board tbody tr").first.locator("td").nth(2).text_content()
    assert composite is not None and composite.strip() == "0.70"
    assert "Ladder (step 0.01)" in (page.locator("p.rule").nth(1).text_content() or "")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-ladder.png"), full_page=True)
