"""competition.yaml errors, and quotas decided under concurrency on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from runner.competition import service
from runner.competition.config import load_competition
from runner.competition.db import Database, Submission, Team
from runner.competition.executor import finish
from runner.competition.images import Archive
from runner.competition.state import ServerState, load_phases, record_phases
from runner.competition.teams import add_team, team_for
from runner.errors import UsageError
from runner.results.store import LocalResultStore
from tests.competition.conftest import write_competition


def test_every_problem_of_a_bad_file_is_one_line_with_its_field(tmp_path: Path) -> None:
    path = write_competition(tmp_path)
    text = (
        path.read_text()
        .replace("per_day: 3", "per_day: -1")
        .replace("closes: '2030-01-01T00:00:00Z'", "closes: '2025-01-01T00:00:00Z'", 1)
    )
    path.write_text(text.replace("title: Demo competition", "title: Demo\nbogus: 1"))
    with pytest.raises(UsageError) as caught:
        load_competition(path)
    lines = str(caught.value).splitlines()
    assert any(
        "phases.0.quota.per_day: Input should be greater than or equal to 1" in x for x in lines
    )
    path.write_text(write_competition(tmp_path).read_text().replace("2030-01-01", "2025-01-01", 1))
    with pytest.raises(UsageError, match=r"phases\.0: closes must be after opens"):
        load_competition(path)
    path = write_competition(tmp_path)
    assert any(line.endswith("bogus: Extra inputs are not permitted") for line in lines)
    assert all(line.startswith(str(path)) for line in lines)
    path.write_text("phases: [")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_competition(path)


def _state(root: Path, url: str) -> ServerState:
    competition = load_competition(write_competition(root))
    db = Database(url)
    db.migrate()
    record_phases(db, competition)
    return ServerState(competition, db, LocalResultStore(root / "results"), None,
                       bundles=load_phases(competition))  # fmt: skip


def test_twenty_concurrent_submits_against_a_quota_of_three(
    tmp_path: Path, database_url: str
) -> None:
    state = _state(tmp_path, database_url)
    state.competition.phases[0].quota.in_flight = 50
    token = add_team(state.db, "racers")
    team = team_for(state.db, token)
    assert team is not None
    archive = Archive(tmp_path / "none.tar", "sha256:" + "a" * 64, 1)
    accepted: list[str] = []
    refused: list[service.QuotaExceeded] = []
    barrier = threading.Barrier(20)

    def submit() -> None:
        barrier.wait()
        try:
            accepted.append(service.reserve(state, team, "public", archive))
        except service.QuotaExceeded as exc:
            refused.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 3 and len(refused) == 17
    refusal = refused[0].refusal
    assert refusal.retry_after > 0 and refusal.resets_at - service.now() <= timedelta(days=1)
    assert "used its 3 submissions" in str(refused[0])
    # A submission whose every fold failed for the machine gives its place back.
    finish(state, accepted[0], ["infra_error", "infra_error"])
    assert service.reserve(state, team, "public", archive)
    with pytest.raises(service.QuotaExceeded):
        service.reserve(state, team, "public", archive)
    with state.db.transaction() as session:
        assert session.get(Submission, accepted[0]).counts is False  # type: ignore[union-attr]
        assert session.query(Team).count() == 1


def test_in_flight_and_phase_windows(tmp_path: Path) -> None:
    state = _state(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    state.competition.phases[0].quota.in_flight = 1
    team = team_for(state.db, add_team(state.db, "t"))
    assert team is not None
    archive = Archive(tmp_path / "none.tar", "sha256:" + "b" * 64, 1)
    service.reserve(state, team, "public", archive)
    with pytest.raises(service.QuotaExceeded, match="at most 1 at once"):
        service.reserve(state, team, "public", archive)
    state.competition.phases[1].closes = service.now() - timedelta(minutes=1)
    state.competition.phases[1].opens = service.now() - timedelta(days=1)
    with pytest.raises(service.PhaseClosed, match="is open from"):
        service.reserve(state, team, "final", archive)
    with pytest.raises(service.NotFound):
        service.reserve(state, team, "nope", archive)


def test_a_phases_probes_are_checked_when_the_file_is_read(tmp_path: Path) -> None:
    path = write_competition(tmp_path, probes="dropout,wobble")
    with pytest.raises(UsageError) as caught:
        load_competition(path)
    lines = str(caught.value).splitlines()  # both phases of the file have it
    assert (
        lines[0]
        == f"{path}: phases.0.probes: unknown probe 'wobble'; use dropout, noise, shift, permutation or all"
    )
    assert lines[1].startswith(f"{path}: phases.1.probes: ") and len(lines) == 2
    phase = load_competition(write_competition(tmp_path, probes="noise=0.5:1")).phases[0]
    request = phase.probe_request()
    assert request is not None and request.kinds == ("noise",)


def test_the_worker_pool_refuses_a_probed_phase_before_serving(tmp_path: Path) -> None:
    """The pool's jobs carry no probes: a probed phase served with --broker would show no
    robustness, so `airlock serve` refuses it in one line (exit 2) before it listens."""
    from tests.competition.conftest import airlock

    path = write_competition(tmp_path, probes="all")
    done = airlock("serve", str(path), "--db", f"sqlite:///{tmp_path / 'c.db'}",
                   "--broker", "amqp://guest:guest@127.0.0.1:9/", "--registry", "127.0.0.1:9")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "phase public asks for robustness probes" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
