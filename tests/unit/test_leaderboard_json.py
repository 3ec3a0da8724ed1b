"""Boards as JSON carry every figure the boards show: `airlock leaderboard --json`, `airlock
results table --json` and the competition API's board have each row's rank interval, group
and p vs the leader, each task's spread and interval, the board's resampling settings and
significance map, and the robustness score of results with probes: the same numbers the
CSV and Markdown files of the same command hold. Under the Ladder: none of them."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runner.cli import shapes
from runner.competition import boards as competition_boards
from runner.competition.config import Competition, Phase
from runner.competition.db import Database, Submission, Team
from runner.competition.state import ServerState, load_phases, record_phases
from runner.results.model import ProbeLevelResult, SubmissionResult, TaskStatistics
from runner.results.robustness import bundle_robustness
from runner.results.store import LocalResultStore
from tests.helpers import SAMPLES
from tests.unit.test_cli_read_commands import airlock, json_of, store, submission_result
from tests.unit.test_probes import _fold, _level


def _levels(loss: float) -> list[ProbeLevelResult]:
    """Dropout and noise whose metric falls from the clean 0.9 by ``loss`` at the top level."""
    return [
        *(_level("dropout", s, 0.9 - loss * s / 0.5) for s in (0.1, 0.25, 0.5)),
        *(_level("noise", s, 0.9 - loss * s / 2) for s in (0.5, 1.0, 2.0)),
        _level("permutation", 1.0, 0.9),
    ]


def _probed(item: SubmissionResult, loss: float) -> SubmissionResult:
    """``item`` as a run with --probes stores it: its bundle's robustness summary."""
    summary = bundle_robustness([_fold("f0", _levels(loss)), _fold("f1", _levels(loss))])
    return item.model_copy(update={"statistics": TaskStatistics(robustness=summary)})


def _results(bundles: tuple[str, str] = ("task1", "task2")) -> list[SubmissionResult]:
    one, two = bundles
    return [
        _probed(submission_result("steady", "steady/m:1", one, [0.9, 0.8, 0.85], image="a"), 0.1),
        _probed(submission_result("steady", "steady/m:1", two, [0.7, 0.75, 0.7], image="a"), 0.2),
        _probed(submission_result("brittle", "brittle/m:1", one, [0.6, 0.7, 0.6], image="b"), 0.4),
        submission_result("brittle", "brittle/m:1", two, [0.6, 0.65, 0.6], image="b"),
        submission_result("plain", "plain/m:1", one, [0.5, 0.55, 0.5], image="c"),
        submission_result("plain", "plain/m:1", two, [0.5, 0.5, 0.45], image="c"),
    ]


def _summary_score(result: SubmissionResult) -> float:
    summary = result.statistics.robustness
    assert summary is not None and summary.score is not None
    return summary.score


def _csv_rows(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(newline="") as handle:
        return {(line["team"], line["task"]): line for line in csv.DictReader(handle)}


def test_leaderboard_json_has_the_uncertainty_and_robustness_the_files_show(
    tmp_path: Path,
) -> None:
    results = _results()
    root, out = store(tmp_path / "results", *results), tmp_path / "board"
    done = airlock("leaderboard", "--results", root, "--out", out, "--json")
    assert done.exit_code == 0, done.output
    (board,) = json_of(done, shapes.LeaderboardJSON)["boards"]
    assert board["ladder"] is None
    uncertainty = board["uncertainty"]
    assert (uncertainty["test"], uncertainty["units"]) == ("sign-flip", 6)  # 2 tasks x 3 folds
    assert (uncertainty["resamples"], uncertainty["seed"], uncertainty["alpha"]) == (2000, 0, 0.05)
    teams = [row["team"] for row in board["rows"]]
    assert teams == ["steady", "brittle", "plain"]
    significance = uncertainty["significance"]
    assert significance["teams"] == teams
    p = significance["p"]
    assert [p[i][i] for i in range(3)] == [None, None, None]
    assert all(p[i][j] == p[j][i] and 0 < p[i][j] <= 1 for i in range(3) for j in range(i))  # type: ignore[operator]

    lines = _csv_rows(out / "leaderboard.csv")
    for row in board["rows"]:
        shown, line = row["uncertainty"], lines[(row["team"], "task1")]
        assert shown is not None
        assert shown["group"] == int(line["group"])
        assert shown["median_rank"] == pytest.approx(float(line["median_rank"]))
        assert (shown["rank_low"], shown["rank_high"]) == (
            int(line["rank_low"]),
            int(line["rank_high"]),
        )
        assert shown["share_first"] == pytest.approx(float(line["share_first"]), abs=1e-4)
        if row["rank"] == 1:
            assert shown["p_vs_leader"] is None and line["p_vs_leader"] == ""
        else:
            assert shown["p_vs_leader"] == pytest.approx(float(line["p_vs_leader"]), abs=1e-6)
        for task in row["tasks"]:
            line = lines[(row["team"], task["task"])]
            for name in ("mean", "sd", "low", "high"):
                assert task[name] == pytest.approx(float(line[name]), abs=1e-6), name
    assert board["rows"][0]["uncertainty"]["share_first"] > 0.5

    # Robustness: per task the result's own score; per row the mean of those it has.
    steady, brittle, plain = board["rows"]
    by_key = {(r.provenance.team, r.provenance.bundle_id): r for r in results}
    steady_scores = [_summary_score(by_key[("steady", t)]) for t in ("task1", "task2")]
    assert [t["robustness"] for t in steady["tasks"]] == pytest.approx(steady_scores)
    assert steady["robustness"] == pytest.approx(sum(steady_scores) / 2)
    brittle_score = _summary_score(by_key[("brittle", "task1")])
    assert [t["robustness"] for t in brittle["tasks"]] == [pytest.approx(brittle_score), None]
    assert brittle["robustness"] == pytest.approx(brittle_score)
    assert steady["robustness"] > brittle["robustness"]  # loses less under both probes
    assert plain["robustness"] is None and [t["robustness"] for t in plain["tasks"]] == [None] * 2
    markdown = (out / "leaderboard.md").read_text()
    assert f"{steady['robustness']:.3f}" in markdown
    assert f"{brittle['robustness']:.3f} (1 of 2 tasks)" in markdown


def test_under_the_ladder_the_json_has_no_intervals_and_no_robustness(tmp_path: Path) -> None:
    root, out = store(tmp_path / "results", *_results()), tmp_path / "board"
    done = airlock("leaderboard", "--results", root, "--out", out, "--json", "--ladder", "0.05")
    assert done.exit_code == 0, done.output
    (board,) = json_of(done, shapes.LeaderboardJSON)["boards"]
    assert (board["ladder"], board["uncertainty"]) == (0.05, None)
    for row in board["rows"]:
        assert row["uncertainty"] is None and row["robustness"] is None
        assert all(task["robustness"] is None for task in row["tasks"])
        assert row["composite"] == pytest.approx(round(row["composite"] / 0.05) * 0.05)
    # The files agree: robustness is computed from the exact scores the Ladder withholds.
    assert "robustness" not in (out / "leaderboard.md").read_text()
    page = (out / "leaderboard.html").read_text()
    assert '<svg class="robustness"' not in page and "mean rAUC" not in page


def test_results_table_json_has_the_robustness_column(tmp_path: Path) -> None:
    results = _results()
    root = store(tmp_path / "results", *results)
    done = airlock("results", "table", "--results", root, "--json")
    assert done.exit_code == 0, done.output
    table = json_of(done, shapes.ResultsTableJSON)
    columns = [column["team"] for column in table["columns"]]
    cells = {
        (team, row["bundle"]): cell
        for row in table["rows"]
        for team, cell in zip(columns, row["cells"], strict=True)
    }
    for result in results:
        key = (result.provenance.team, result.provenance.bundle_id)
        summary = result.statistics.robustness
        expected = None if summary is None else summary.score
        assert cells[key] is not None and cells[key]["robustness"] == expected, key


def _state(tmp_path: Path, ladder: float | None) -> ServerState:
    """A competition with one public phase on the sample bundle synth-lomo-highdim, the
    three teams' results in its store and their finished submissions in its database."""
    opens, closes = datetime(2026, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    bundle = SAMPLES / "synth-lomo-highdim"
    phase = Phase(name="public", bundles=bundle, opens=opens, closes=closes, ladder=ladder)
    competition = Competition(id="demo", title="Demo", phases=[phase], results=str(tmp_path))
    db = Database(f"sqlite:///{tmp_path / 'competition.db'}")
    db.migrate()
    record_phases(db, competition)
    results = _results(("synth-lomo-highdim", "synth-lomo-highdim"))[::2]  # one task each
    local = store(tmp_path / "results", *results)
    with db.transaction() as session:
        for n, result in enumerate(results):
            team = Team(name=result.provenance.team, token_hash=f"{n:064d}", created_at=opens)
            session.add(team)
            session.flush()
            session.add(
                Submission(
                    id=f"s{n}", team_id=team.id, phase="public",
                    image_id=result.provenance.image_id, image_ref=result.provenance.image_ref,
                    archive_bytes=1, status="finished", created_at=opens,
                )
            )  # fmt: skip
    return ServerState(
        competition=competition,
        db=db,
        store=LocalResultStore(local),
        provider=None,
        bundles=load_phases(competition),
    )


def test_the_competition_board_json_has_the_uncertainty_and_robustness(tmp_path: Path) -> None:
    state = _state(tmp_path, None)
    shown: dict[str, Any] = competition_boards.board_json(state, "public")
    (board,) = shown["boards"]
    assert board["ladder"] is None and board["uncertainty"]["test"] == "sign-flip"
    assert board["uncertainty"]["units"] == 3 and board["uncertainty"]["resamples"] == 2000
    steady, brittle, plain = board["rows"]
    assert [steady["team"], brittle["team"], plain["team"]] == ["steady", "brittle", "plain"]
    assert steady["uncertainty"]["rank_low"] == 1 and steady["uncertainty"]["group"] == 1
    assert brittle["uncertainty"]["p_vs_leader"] == pytest.approx(0.25)  # 2/2^3: exact test
    assert steady["robustness"] > brittle["robustness"] and plain["robustness"] is None
    (task,) = steady["tasks"]
    assert task["robustness"] == steady["robustness"]
    assert task["mean"] == pytest.approx(0.85) and task["sd"] == pytest.approx(0.0408, abs=1e-4)
    assert (task["low"], task["high"]) == pytest.approx((0.85 - task["sd"], 0.85 + task["sd"]))
    page = competition_boards.board_html(state)
    assert page.count('class="robustness"') == 2  # a curve per row with probe results


def test_the_competition_board_json_under_the_ladder_has_neither(tmp_path: Path) -> None:
    state = _state(tmp_path, 0.05)
    shown: dict[str, Any] = competition_boards.board_json(state, "public")
    (board,) = shown["boards"]
    assert (board["ladder"], board["uncertainty"]) == (0.05, None)
    for row in board["rows"]:
        assert row["uncertainty"] is None and row["robustness"] is None
        assert [task["robustness"] for task in row["tasks"]] == [None]
    page = competition_boards.board_html(state)
    assert 'class="robustness"' not in page
