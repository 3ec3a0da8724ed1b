"""Every endpoint against every caller: no token, another team, the organizer, the owner.
A real `airlock serve` on loopback; submissions are recorded in its database directly (they
are already finished). `airlock serve` refuses to start without a Docker engine, hence the
marker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner.competition.db import Database, FoldTask, Submission, Team, now
from tests.competition.conftest import (
    Server,
    add_team,
    airlock,
    start_server,
    write_competition,
)

pytestmark = pytest.mark.docker


def _finished(db_url: str, team_name: str, phase: str) -> str:
    db = Database(db_url)
    with db.transaction() as session:
        team = session.query(Team).filter_by(name=team_name).one()
        submission_id = f"{team_name}{phase}".ljust(16, "0")[:16]
        session.add(Submission(
            id=submission_id, team_id=team.id, phase=phase, image_id="sha256:" + "c" * 64,
            image_ref="airlock-submission/x:latest", archive_bytes=1, status="finished",
            created_at=now(), finished_at=now(), counts=True, disqualified=False,
            logs_released=False, attempt=0, note="",
        ))  # fmt: skip
        session.flush()
        session.add(FoldTask(
            submission_id=submission_id, bundle_id="synth-loco-3class", fold_id="crew_C1",
            state="done", status="ok", updated_at=now(),
            summary={"fold_id": "crew_C1", "status": "ok", "metrics": {"macro_f1": 0.5},
                     "log_tail": ["secret stderr"]},
        ))  # fmt: skip
    return submission_id


@pytest.fixture
def ids(server: Server) -> dict[str, str]:
    return {
        "alpha": _finished(server.db, "alpha", "public"),
        "beta": _finished(server.db, "beta", "public"),
        "alpha-hidden": _finished(server.db, "alpha", "final"),
    }


def _status(server: Server, who: str | None, method: str, path: str, **kw: Any) -> int:
    with server.client(who) as client:
        response = client.request(method, path, **kw)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == response.status_code and "\n" not in body["detail"]
    return response.status_code


def test_every_endpoint_for_every_caller(server: Server, ids: dict[str, str]) -> None:
    beta = ids["beta"]
    table = [
        # (method, path, no token, other team (alpha), organizer, owner (beta))
        ("GET", "/api/v1/submissions", 401, 200, 401, 200),
        ("GET", f"/api/v1/submissions/{beta}", 401, 404, 401, 200),
        ("GET", "/api/v1/submissions/doesnotexist0000", 401, 404, 401, 404),
        ("POST", "/api/v1/submissions?phase=public", 401, 422, 401, 422),
        ("GET", "/api/v1/phases", 401, 200, 200, 200),
        ("GET", "/api/v1/leaderboard/public", 401, 200, 200, 200),
        ("GET", "/api/v1/leaderboard/final", 401, 200, 200, 200),
        ("GET", "/api/v1/admin/submissions", 401, 401, 200, 401),
        ("POST", f"/api/v1/admin/submissions/{beta}/release-logs", 401, 401, 200, 401),
        ("POST", f"/api/v1/admin/submissions/{beta}/disqualify", 401, 401, 200, 401),
        ("POST", "/api/v1/admin/phases/final/reveal", 401, 401, 200, 401),
    ]
    for method, path, *expected in table:
        got = [
            _status(server, who, method, path, content=b"not a tar")
            for who in (None, "alpha", "organizer", "beta")
        ]
        assert got == expected, (method, path)


def test_another_team_s_object_looks_exactly_like_a_missing_one(
    server: Server, ids: dict[str, str]
) -> None:
    with server.client("alpha") as client:
        other = client.get(f"/api/v1/submissions/{ids['beta']}").json()
        missing = client.get("/api/v1/submissions/0000000000000000").json()
        listed = client.get("/api/v1/submissions").json()
    assert other["title"] == missing["title"] == "Not Found"
    assert other["detail"].replace(ids["beta"], "X") == missing["detail"].replace("0" * 16, "X")
    assert {item["id"] for item in listed} == {ids["alpha"], ids["alpha-hidden"]}


def test_hidden_phase_and_released_logs(server: Server, ids: dict[str, str]) -> None:
    with server.client("alpha") as client:
        hidden = client.get(f"/api/v1/submissions/{ids['alpha-hidden']}").json()
        board = client.get("/api/v1/leaderboard/final").json()
        public = client.get(f"/api/v1/submissions/{ids['alpha']}").json()
    assert hidden["scores_visible"] is False
    assert "metrics" not in hidden["folds"][0]["result"]
    assert board == {
        "phase": "final",
        "scores": "hidden",
        "revealed": False,
        "teams": 1,
        "boards": [],
    }
    assert public["folds"][0]["result"]["metrics"] == {"macro_f1": 0.5}
    assert public["folds"][0]["result"]["log_tail"] == []  # not released
    with server.client("organizer") as client:
        assert (
            client.post(f"/api/v1/admin/submissions/{ids['alpha']}/release-logs").status_code == 200
        )
        assert client.post("/api/v1/admin/phases/final/reveal").status_code == 200
    with server.client("alpha") as client:
        released = client.get(f"/api/v1/submissions/{ids['alpha']}").json()
        revealed = client.get(f"/api/v1/submissions/{ids['alpha-hidden']}").json()
    assert released["folds"][0]["result"]["log_tail"] == ["secret stderr"]
    assert revealed["scores_visible"] is True


def test_oversized_uploads_are_refused_with_413(tmp_path: Path, docker_client: object) -> None:
    """Declared too large, refused before a byte is read; streamed past the limit, cut off."""
    path = write_competition(tmp_path)
    path.write_text(path.read_text() + "max_image_bytes: 100000\n")
    db = f"sqlite:///{tmp_path / 'c.db'}"
    running = start_server(tmp_path, db)
    running.tokens = {"alpha": add_team(db, "alpha")}
    try:
        with running.client("alpha") as client:
            declared = client.post("/api/v1/submissions?phase=public", content=b"x" * 200_000)
            streamed = client.post(
                "/api/v1/submissions?phase=public",
                content=(b"y" * 10_000 for _ in range(50)),  # chunked: no length declared
            )
            listed = client.get("/api/v1/submissions").json()
    finally:
        running.stop()
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert "100000-byte limit" in response.json()["detail"]
    assert listed == []
    assert not list((tmp_path / "uploads").iterdir())  # nothing of them is kept


def test_a_laddered_phase_withholds_exact_scores_until_the_reveal(
    tmp_path: Path, docker_client: object
) -> None:
    """Under the Ladder a team's own submission view carries no metrics (they would be the
    oracle the Ladder closes); the phase listing names the step; the reveal shows them."""
    write_competition(tmp_path, ladder=0.01)
    db = f"sqlite:///{tmp_path / 'c.db'}"
    tokens = {"alpha": add_team(db, "alpha")}
    done = airlock("teams", "organizer-token", "--db", db)
    tokens["organizer"] = done.stdout.split("token ", 1)[1].strip()
    running = start_server(tmp_path, db)
    running.tokens = tokens
    submission_id = _finished(db, "alpha", "public")
    try:
        with running.client("alpha") as client:
            before = client.get(f"/api/v1/submissions/{submission_id}").json()
            phases = {p["name"]: p for p in client.get("/api/v1/phases").json()}
        with running.client("organizer") as admin:
            assert admin.post("/api/v1/admin/phases/public/reveal").status_code == 200
        with running.client("alpha") as client:
            after = client.get(f"/api/v1/submissions/{submission_id}").json()
    finally:
        running.stop()
    assert phases["public"]["ladder"] == 0.01
    assert before["scores_visible"] is False
    assert "metrics" not in before["folds"][0]["result"]
    assert after["scores_visible"] is True
    assert after["folds"][0]["result"]["metrics"] == {"macro_f1": 0.5}
