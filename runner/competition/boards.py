"""The competition's leaderboards, per phase: JSON for the API and one HTML page at /.

A board ranks the finished, not disqualified submissions of a phase (each team's best), by
the benchmark's rules, over the phase's declared tasks (a team that ran only part of them
ranks below every complete one). A hidden phase shows neither scores nor ranks until the
organizer reveals it: only how many teams have a finished submission.
"""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import select

from runner.competition import service
from runner.competition.db import Submission, Team
from runner.competition.state import ServerState
from runner.leaderboard import export, render
from runner.leaderboard.model import Row
from runner.leaderboard.ranking import Board, build_boards, declared_tasks
from runner.leaderboard.robustness import Robustness
from runner.results.model import BundleRobustness, SubmissionResult


def phases(state: ServerState) -> list[dict[str, Any]]:
    from runner.competition.db import now

    moment = now()
    return [
        {
            "name": p.name,
            "opens": p.opens.isoformat(),
            "closes": p.closes.isoformat(),
            "open": p.is_open(moment),
            "scores": p.scores,
            "ladder": p.ladder,
            "revealed": service.revealed(state, p.name),
            "bundles": [b.spec.id for b in state.bundles[p.name]],
            "quota": p.quota.model_dump(),
        }
        for p in state.competition.phases
    ]


def _results(state: ServerState, phase: str) -> tuple[list[SubmissionResult], int]:
    """The phase's results of finished, not disqualified submissions; and how many teams."""
    with state.db.read() as session:
        rows = session.execute(
            select(Submission.image_id, Team.name)
            .join(Team)
            .where(
                Submission.phase == phase,
                Submission.status == "finished",
                Submission.disqualified.is_(False),
            )
        ).all()
    wanted = {(team, image_id) for image_id, team in rows}
    bundle_ids = {b.spec.id for b in state.bundles[phase]}
    found = [
        r
        for r in state.store.results()
        if r.provenance.bundle_id in bundle_ids
        and (r.provenance.team, r.provenance.image_id) in wanted
    ]
    return found, len({team for team, _ in wanted})


def _boards(state: ServerState, phase: str) -> tuple[list[Board], Robustness]:
    """The phase's boards, and the robustness of its results (shown only when some were
    run with probes, never on a board under the Ladder)."""
    results, _ = _results(state, phase)
    declared = declared_tasks([b.spec for b in state.bundles[phase]])
    spec = state.phase(phase)
    ladder = None if spec is None or service.revealed(state, phase) else spec.ladder
    return build_boards(results, "best", declared, ladder=ladder), Robustness.of(results)


def board_json(state: ServerState, phase: str) -> dict[str, Any]:
    if state.phase(phase) is None:
        raise service.NotFound(f"no phase {phase!r}")
    if not service.scores_visible(state, phase):
        _, teams = _results(state, phase)
        return {"phase": phase, "scores": "hidden", "revealed": False, "teams": teams, "boards": []}
    boards, robustness = _boards(state, phase)
    return {
        "phase": phase,
        "scores": "public",
        "revealed": service.revealed(state, phase),
        "boards": [_board(b, robustness) for b in boards],
    }


def _board(board: Board, robustness: Robustness) -> dict[str, Any]:
    """The board's ranking with its uncertainty figures (rank intervals, groups, the
    significance map; none under the Ladder) and robustness (runner/leaderboard/export.py)."""
    return {
        "title": board.title,
        "rule": board.caption,
        "ladder": board.ladder,
        "uncertainty": export.board_uncertainty(board),
        "tasks": [{"bundle": b, "task": t, "metric": m} for b, t, m in board.tasks],
        "rows": [_row(board, rank, row, robustness) for rank, row in enumerate(board.rows, 1)],
    }


def _row(board: Board, rank: int, row: Row, robustness: Robustness) -> dict[str, Any]:
    by_task = export.task_robustness(robustness, board, row)
    return {
        "rank": rank,
        "team": row.team,
        "image_id": row.image_id,
        "composite": export.finite(row.composite),
        "complete": row.tier == 0,
        "submissions": row.submissions,
        "runtimes": sorted(row.runtimes),
        "uncertainty": export.row_uncertainty(row),
        "robustness": export.row_robustness(robustness, board, row),
        "tasks": [
            {
                "bundle": b,
                "status": e.status,
                "score": export.finite(e.score),
                "mean": export.finite(e.mean),
                "sd": export.finite(e.sd),
                "low": export.finite(e.low),
                "high": export.finite(e.high),
                "perm_p": export.finite(e.perm_p),
                "go_nogo": e.go_nogo,
                "robustness": by_task[b],
            }
            for b, _, _ in board.tasks
            for e in [row.entries[b]]
        ],
    }


def board_html(state: ServerState) -> str:
    """Every phase's board on one page; hidden phases say so and show nothing more."""
    sections: list[Board] = []
    notes = []
    found: dict[tuple[str, str, str], BundleRobustness] = {}
    for phase in state.competition.phases:
        if service.scores_visible(state, phase.name):
            boards, robustness = _boards(state, phase.name)
            found.update(robustness.by_entry)
            for board in boards:
                board.title = f"{phase.name}: {board.title}"
                sections.append(board)
        else:
            _, teams = _results(state, phase.name)
            notes.append(
                f"<p><b>{html.escape(phase.name)}</b>: scores hidden until the organizer "
                f"reveals the phase ({teams} team(s) with a finished submission).</p>"
            )
    page = render.html_page(sections, Robustness(found))
    title = html.escape(state.competition.title)
    return page.replace("<h1>Airlock leaderboard</h1>", f"<h1>{title}</h1>{''.join(notes)}", 1)
