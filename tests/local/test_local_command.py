"""`airlock run --command`: a submission as a local process, same protocol, same verdicts,
clearly marked as not sealed and refused in sealed mode. No Docker needed."""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLES, bundle_variant, run_airlock

MAJORITY = REPO / "sample_submissions" / "majority"
BEHAVE = REPO / "tests" / "fixtures" / "behave"
PYTHON = sys.executable  # this interpreter has what the SDK needs (numpy, pandas)


def _results(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("*/*/result.json"))]


def test_a_local_command_runs_every_sample_bundle_and_is_marked_not_sealed(
    tmp_path: Path,
) -> None:
    bundles = sorted(SAMPLES.iterdir())
    args = ["run", "--command", f"{PYTHON} model.py", "--workdir", str(MAJORITY)]
    for bundle in bundles:
        args += ["--bundle", str(bundle)]
    done = run_airlock(*args, "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "NOT SEALED" in done.stderr
    results = _results(tmp_path)
    assert len(results) == len(bundles)
    for result in results:
        provenance = result["provenance"]
        assert provenance["isolation"] == "none"
        assert provenance["image_ref"] == f"command: {PYTHON} model.py"
        assert "no isolation" in provenance["engine"]
        assert provenance["team"] == "local"
        assert {fold["status"] for fold in result["folds"]} == {"ok"}
        assert all(
            fold["resources"]["phases"]["fit"]["wall_seconds"] > 0 for fold in result["folds"]
        )

    # Unsealed results never reach a leaderboard.
    board = run_airlock("leaderboard", "--results", str(tmp_path), "--out", str(tmp_path / "lb"))
    assert board.returncode == 2
    assert (
        f"left out {len(bundles)} result(s) of local --command runs" in board.stdout + board.stderr
    )
    assert "no complete results" in board.stderr


def test_sealed_mode_refuses_a_local_command(tmp_path: Path) -> None:
    done = run_airlock(
        "run", "--command", "python3 model.py", "--workdir", str(MAJORITY),
        "-b", str(SAMPLES / "synth-loco-3class"), "--results", str(tmp_path), "--sealed-mode",
    )  # fmt: skip
    assert done.returncode == 2
    assert "sealed mode needs isolation" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.glob("*/*/result.json"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image", "x", "--command", "python3 model.py"], "exactly one of --image"),
        ([], "exactly one of --image"),
        (["--command", "no-such-program-xyz"], "'no-such-program-xyz' is not on PATH"),
        (["--command", "./missing.sh"], "missing.sh is not an executable file"),
        (["--command", "python3 'unclosed"], "No closing quotation"),
    ],
)
def test_bad_command_lines_get_one_line_errors(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = run_airlock(
        "run", *args, "-b", str(SAMPLES / "synth-loco-3class"), "--results", str(tmp_path)
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_crash_shows_status_phase_and_the_last_stderr_lines(tmp_path: Path) -> None:
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C1", "crew_C2"])
    env = {**os.environ, "AIRLOCK_TEST_BEHAVIOUR": "crash_fit"}
    done = run_airlock(
        "run", "--command", f"{PYTHON} {BEHAVE / 'behave.py'}", "-b", str(bundle),
        "--results", str(tmp_path / "results"), env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "crashed  synth-loco-3class/crew_C1" in done.stderr
    assert "exited with exit code 3 during fit" in done.stderr
    assert "| about to fail" in done.stderr  # their own stderr, once
    assert "stderr: as synth-loco-3class/crew_C1" in done.stderr
    assert "fix crashed: " in done.stdout
    (result,) = _results(tmp_path / "results")
    assert [f["log_tail"] for f in result["folds"]] == [["about to fail"]] * 2


def test_a_timeout_names_the_limit_and_the_measured_time_and_kills_the_process(
    tmp_path: Path,
) -> None:
    bundle = bundle_variant(
        "synth-loco-3class", tmp_path, folds=["crew_C1"], time_limits={"fit_seconds": 2}
    )
    marker = f"airlock-test-{uuid.uuid4().hex}"
    env = {**os.environ, "AIRLOCK_TEST_BEHAVIOUR": "sleep_fit"}
    done = run_airlock(
        "run", "--command", f"{PYTHON} {BEHAVE / 'behave.py'} {marker}", "-b", str(bundle),
        "--results", str(tmp_path / "results"), env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (result,) = _results(tmp_path / "results")
    (fold,) = result["folds"]
    ran = fold["resources"]["phases"]["fit"]["wall_seconds"]
    assert fold["status"] == "timeout"
    assert fold["phase"] == "fit"
    assert fold["reason"].startswith(f"fit phase exceeded its 2 s limit (ran {ran:.1f} s")
    assert 2.0 <= ran < 4.0
    left = [
        pid for pid in os.listdir("/proc") if pid.isdigit() and marker.encode() in _cmdline(pid)
    ]
    assert left == [], "the timed-out process is still running"


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
