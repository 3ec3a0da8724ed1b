"""The leaderboard page in a real browser: headless Chromium (Debian's package) opens the
file, the table rows and charts are there, sorting works, and nothing is fetched from the
network. The screenshot is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

from runner.leaderboard import render
from runner.leaderboard.ranking import build_boards
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
