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
from runner.leaderboard import render
from runner.leaderboard.ranking import Board, build_boards, declared_tasks
from runner.results.model import SubmissionResult


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


def _boards(state: ServerState, phase: str) -> list[Board]:
    results, _ = _results(state, phase)
    declared = declared_tasks([b.spec for b in state.bundles[phase]])
    spec = state.phase(phase)
    ladder = None if spec is None or service.revealed(state, phase) else spec.ladder
    return build_boards(results, "best", declared, ladder=ladder)


def board_json(state: ServerState, phase: str) -> dict[str, Any]:
    if state.phase(phase) is None:
        raise service.NotFound(f"no phase {phase!r}")
    if not service.scores_visible(state, phase):
        _, teams = _results(state, phase)
        return {"phase": phase, "scores": "hidden", "revealed": False, "teams": teams, "boards": []}
    return {
        "phase": phase,
        "scores": "public",
        "revealed": service.revealed(state, phase),
        "boards": [_board(b) for b in _boards(state, phase)],
    }


def _board(board: Board) -> dict[str, Any]:
    return {
        "title": board.title,
        "rule": board.caption,
        "tasks": [{"bundle": b, "task": t, "metric": m} for b, t, m in board.tasks],
        "rows": [
            {
                "rank": rank,
                "team": row.team,
                "image_id": row.image_id,
                "composite": row.composite,
                "complete": row.tier == 0,
                "submissions": row.submissions,
                "tasks": [
                    {"bundle": b, "status": e.status, "score": e.score, "mean": e.mean}
                    for b, _, _ in board.tasks
                    for e in [row.entries[b]]
                ],
            }
            for rank, row in enumerate(board.rows, start=1)
        ],
    }


def board_html(state: ServerState) -> str:
    """Every phase's board on one page; hidden phases say so and show nothing more."""
    sections: list[Board] = []
    notes = []
    for phase in state.competition.phases:
        if service.scores_visible(state, phase.name):
            for board in _boards(state, phase.name):
                board.title = f"{phase.name}: {board.title}"
                sections.append(board)
        else:
            _, teams = _results(state, phase.name)
            notes.append(
                f"<p><b>{html.escape(phase.name)}</b>: scores hidden until the organizer "
                f"reveals the phase ({teams} team(s) with a finished submission).</p>"
            )
    page = render.html_page(sections)
    title = html.escape(state.competition.title)
    return page.replace("<h1>Airlock leaderboard</h1>", f"<h1>{title}</h1>{''.join(notes)}", 1)
