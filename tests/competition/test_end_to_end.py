"""A competition hosted end to end on the embedded default: `airlock serve` (SQLite, its
own executor on the local engine), two teams `airlock submit` real images, results and
both leaderboards (JSON and HTML in headless Chromium) rank them right; a hidden phase
shows nothing until the organizer reveals it; uploaded archives retag nothing; a server
killed with SIGKILL mid-evaluation finishes every submission after a restart, each fold
run once."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from runner.competition.db import Database, FoldTask
from tests.competition.conftest import Server, add_team, airlock, start_server, write_competition
from tests.helpers import REPO

pytestmark = pytest.mark.docker

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def images(docker_client: Any) -> dict[str, str]:
    """Two small Node.js images: a real model (nearest centroid) and a constant."""
    docker_client.images.build(path=str(REPO / "sample_submissions" / "node-centroid"),
                               tag="airlock-test/node-centroid:latest", rm=True)  # fmt: skip
    docker_client.images.build(path=str(REPO / "tests" / "fixtures" / "js-constant"),
                               tag="airlock-test/js-constant:latest", rm=True)  # fmt: skip
    return {"alpha": "airlock-test/node-centroid:latest", "beta": "airlock-test/js-constant:latest"}


def _as(server: Server, team: str) -> dict[str, str]:
    """The environment of a participant logged in as ``team`` (its own config dir)."""
    home = server.root / f"home-{team}"
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    done = airlock("login", server.url, "--token", server.tokens[team], env=env)
    assert done.returncode == 0, done.stderr
    assert oct((home / "airlock" / "credentials.json").stat().st_mode)[-3:] == "600"
    return env


def _wait(server: Server, team: str, submission_id: str, seconds: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    with server.client(team) as client:
        while time.monotonic() < deadline:
            shown = client.get(f"/api/v1/submissions/{submission_id}").json()
            if shown["status"] not in ("loading", "queued", "running"):
                return dict(shown)
            time.sleep(0.5)
    raise AssertionError(f"submission {submission_id} did not finish: {shown}")


def test_two_teams_submit_and_the_boards_rank_them(
    server: Server, images: dict[str, str], docker_client: Any
) -> None:
    envs = {team: _as(server, team) for team in ("alpha", "beta")}
    done = airlock("submit", images["alpha"], "--phase", "public", env=envs["alpha"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok  synth-loco-3class/crew_C1" in done.stdout and "macro_f1" in done.stdout
    done = airlock("submit", images["beta"], "--phase", "public", "--no-wait", env=envs["beta"])
    assert done.returncode == 0, done.stderr
    beta_id = done.stdout.split()[1]
    assert _wait(server, "beta", beta_id)["status"] == "finished"
    with server.client("beta") as client:
        board = client.get("/api/v1/leaderboard/public").json()
    (only,) = board["boards"]
    assert [row["team"] for row in only["rows"]] == ["alpha", "beta"]
    assert only["rows"][0]["composite"] > only["rows"][1]["composite"]
    expected_id = docker_client.images.get(images["alpha"]).id
    assert only["rows"][0]["image_id"] == expected_id  # what ran is what was received
    listed = airlock("submissions", env=envs["alpha"])
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 1
    _page(server, "competition-leaderboard.png", ["alpha", "beta"])

    # The hidden phase: statuses only, no scores, no ranks, until the organizer reveals it.
    done = airlock("submit", images["alpha"], "--phase", "final", env=envs["alpha"])
    assert done.returncode == 0, done.stderr
    assert "scores of this phase are hidden" in done.stdout and "macro_f1" not in done.stdout
    with server.client("beta") as client:
        hidden = client.get("/api/v1/leaderboard/final").json()
    assert hidden["boards"] == [] and hidden["teams"] == 1
    page = _page(server, "competition-hidden.png", [])
    assert "scores hidden until the organizer reveals the phase" in page
    with server.client("organizer") as client:
        assert client.post("/api/v1/admin/phases/final/reveal").status_code == 200
    with server.client("beta") as client:
        revealed = client.get("/api/v1/leaderboard/final").json()
    assert [row["team"] for row in revealed["boards"][0]["rows"]] == ["alpha"]


def _page(server: Server, name: str, teams: list[str]) -> str:
    """The leaderboard page in headless Chromium, a screenshot kept; returns its text."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(server.url + "/")
        rows = page.locator("tr[data-team]").evaluate_all("rows => rows.map(r => r.dataset.team)")
        text = page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        browser.close()
    assert rows[: len(teams)] == teams
    assert all(url.startswith(server.url) for url in requests)  # nothing external
    return str(text)


def test_an_archive_tagged_with_other_names_retags_nothing(
    server: Server, images: dict[str, str], docker_client: Any, tmp_path: Path
) -> None:
    """An upload whose archive carries the tags airlock/sdk:latest and another image's name:
    the server strips them before loading, so both still point where they did."""
    sdk_before = docker_client.images.get("airlock/sdk:latest").id
    victim_before = docker_client.images.get(images["alpha"]).id
    archive = tmp_path / "evil.tar"
    with archive.open("wb") as handle:
        for chunk in docker_client.api.get_image(images["beta"]):
            handle.write(chunk)
    evil = _retagged(archive, ["airlock/sdk:latest", images["alpha"]])
    with server.client("beta") as client:
        response = client.post("/api/v1/submissions?phase=public", content=evil.read_bytes())
    assert response.status_code == 202, response.text
    finished = _wait(server, "beta", response.json()["id"])
    assert finished["status"] == "finished"
    assert docker_client.images.get("airlock/sdk:latest").id == sdk_before
    assert docker_client.images.get(images["alpha"]).id == victim_before
    assert finished["image_id"] == docker_client.images.get(images["beta"]).id


def _retagged(archive: Path, tags: list[str]) -> Path:
    """A copy of a `docker save` archive whose manifest claims other repository tags."""
    out = archive.with_name("retagged.tar")
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            if member.name == "manifest.json" and data is not None:
                manifest = json.loads(data.read())
                manifest[0]["RepoTags"] = tags
                raw = json.dumps(manifest).encode()
                member.size = len(raw)
                target.addfile(member, io.BytesIO(raw))
            else:
                target.addfile(member, data)
    return out


def _serve_one_team(root: Path, team: str) -> Server:
    """`airlock serve` on ROOT/competition.yaml with a fresh SQLite file and one team."""
    db = f"sqlite:///{root / 'competition.db'}"
    token = add_team(db, team)
    server = start_server(root, db)
    server.tokens = {team: token}
    return server


def test_sigkill_mid_evaluation_then_restart(
    competition_root: Path, images: dict[str, str], docker_client: Any
) -> None:
    server = _serve_one_team(competition_root, "gamma")
    db, token = server.db, server.tokens["gamma"]
    try:
        env = _as(server, "gamma")
        accepted = airlock("submit", images["alpha"], "--phase", "public", "--no-wait", env=env)
        submission_id = accepted.stdout.split()[1]
        database = Database(db)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _fold_states(database, submission_id) & {
            "running",
            "done",
        }:
            time.sleep(0.1)
        server.stop(signal.SIGKILL)  # mid-evaluation
        states = _fold_states(database, submission_id)
        assert states & {"running", "done"} and states != {"done"}, states
        server = start_server(competition_root, db)
        server.tokens = {"gamma": token}
        finished = _wait(server, "gamma", submission_id)
    finally:
        server.stop()
    assert finished["status"] == "finished"
    assert [f["status"] for f in finished["folds"]] == ["ok", "ok"]
    records = list((competition_root / "results").glob("*/*/folds/*.json"))
    assert len(records) == 2  # each fold stored once
    run_ids = {json.loads(p.read_text())["run_id"] for p in records}
    assert run_ids == {f"{submission_id}.0"}


def test_a_probed_phase_shows_robustness_on_its_board(
    tmp_path: Path, images: dict[str, str], docker_client: Any
) -> None:
    """`probes:` in a phase: the embedded executor probes every fold after its clean predict,
    and the phase's board (JSON and page) carries the robustness score."""
    write_competition(tmp_path, probes="dropout=0.25:0.5")
    server = _serve_one_team(tmp_path, "delta")
    try:
        env = _as(server, "delta")
        accepted = airlock("submit", images["alpha"], "--phase", "public", "--no-wait", env=env)
        assert accepted.returncode == 0, accepted.stderr
        finished = _wait(server, "delta", accepted.stdout.split()[1])
        with server.client("delta") as client:
            board = client.get("/api/v1/leaderboard/public").json()
            page = client.get("/").text
        # The hidden phase probes too, but the probes' figures are scores: none are shown.
        accepted = airlock("submit", images["alpha"], "--phase", "final", "--no-wait", env=env)
        hidden = _wait(server, "delta", accepted.stdout.split()[1])
    finally:
        server.stop()
    assert [f["status"] for f in finished["folds"]] == ["ok", "ok"]
    assert finished["folds"][0]["result"]["robustness"]["levels"]
    assert (
        hidden["scores_visible"] is False and [f["status"] for f in hidden["folds"]] == ["ok"] * 2
    )
    assert all(set(f["result"]) & {"robustness", "metrics"} == set() for f in hidden["folds"])
    (row,) = board["boards"][0]["rows"]
    assert isinstance(row["robustness"], float) and 0 <= row["robustness"] <= 1
    assert "robustness" in page
    stored = next((tmp_path / "results").glob("*/*/result.json"))
    folds = json.loads(stored.read_text())["folds"]
    levels = [(lv["probe"], lv["level"]) for lv in folds[0]["robustness"]["levels"]]
    assert levels == [("dropout", 0.25), ("dropout", 0.5)]


def _fold_states(database: Database, submission_id: str) -> set[str]:
    with database.transaction() as session:
        return {
            f.state for f in session.query(FoldTask).filter_by(submission_id=submission_id).all()
        }


def test_make_submit_without_a_server_says_how_to_submit(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("AIRLOCK_SERVER", None)
    done = subprocess.run(
        [sys.executable, "-m", "runner", "submit", "airlock-test/js-constant:latest"],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "airlock login URL --token TOKEN" in done.stderr
