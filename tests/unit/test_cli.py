from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runner.bundle.load import load_bundle
from runner.bundle.validate import validate_bundle
from runner.cli import app
from runner.errors import UsageError
from runner.run import ResourceRequest, applied_limits
from tests.helpers import REPO, SAMPLES, run_airlock


def test_help_lists_commands_without_heavy_imports() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "bundle", "results", "schema", "cleanup"):
        assert command in result.stdout
    probe = "import sys, runner.cli; print(sorted(m for m in ('docker', 'numpy', 'pandas') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_synth_is_deterministic_and_valid(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["bundle", "synth", "--out", str(tmp_path / "a")])
    second = runner.invoke(app, ["bundle", "synth", "--out", str(tmp_path / "b")])
    assert first.exit_code == 0, first.output
    hashes_a = [line.split()[-1] for line in first.stdout.splitlines()]
    hashes_b = [line.split()[-1] for line in second.stdout.splitlines()]
    assert hashes_a == hashes_b
    assert len(hashes_a) == 4
    for bundle in (tmp_path / "a").iterdir():
        assert validate_bundle(bundle) == []
        assert "SYNTHETIC DATA" in (bundle / "bundle.yaml").read_text()
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert total < 8 * 2**20


def test_unknown_sample_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["bundle", "synth", "--only", "nope"])
    assert result.exit_code == 2
    assert "unknown sample bundle(s) ['nope']" in result.output


def test_schema_and_list_commands() -> None:
    result = CliRunner().invoke(app, ["schema", "result"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "SubmissionResult"
    listing = CliRunner().invoke(app, ["bundle", "list", str(SAMPLES)])
    assert listing.exit_code == 0
    assert "synth-loco-3class" in listing.stdout


def test_requests_above_the_bundle_limits_are_refused() -> None:
    bundle = load_bundle(SAMPLES / "synth-loco-3class")
    applied = applied_limits(bundle, ResourceRequest(memory="512MiB", cpus=0.5))
    assert (applied.memory_bytes, applied.cpus, applied.gpus) == (512 * 2**20, 0.5, 0)
    for request, message in (
        (
            ResourceRequest(memory="64GiB"),
            "--memory 64GiB is more than bundle 'synth-loco-3class' allows",
        ),
        (ResourceRequest(cpus=8), "--cpus 8 must be above 0 and at most the bundle's 1"),
        (ResourceRequest(gpus=1), "--gpus 1 must be between 0 and the bundle's 0"),
    ):
        with pytest.raises(UsageError, match=re.escape(message)):
            applied_limits(bundle, request)


def test_version_prints_the_package_version_and_exits_0() -> None:
    from runner import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"airlock {__version__}\n", "")
    done = run_airlock("--version")  # the real command, as a user runs it
    assert (done.returncode, done.stdout, done.stderr) == (0, f"airlock {__version__}\n", "")
    assert "--version" in CliRunner().invoke(app, ["--help"]).stdout


def test_results_migrate_moves_an_old_store(tmp_path: Path) -> None:
    from tests.unit.test_store_and_results import _legacy_store

    root = _legacy_store(tmp_path)
    done = run_airlock("results", "migrate", "--results", str(root))
    assert done.returncode == 0, done.stderr
    assert "moved 2 result(s)" in done.stdout
    assert "an interrupted run" in done.stderr
    table = run_airlock("results", "table", "--results", str(root))
    assert table.returncode == 2 and "airlock results migrate --results" in table.stderr


def test_leaderboard_suite_declares_the_board_s_tasks(tmp_path: Path) -> None:
    from runner.results.store import LocalResultStore, result_key
    from tests.unit.test_leaderboard_ranking import result

    store = LocalResultStore(tmp_path / "r")
    made = result("only-one", "a", "synth-loco-3class", [0.5, 0.5])
    store.put_result(
        result_key(made.provenance.image_id, "synth-loco-3class", "sha256:" + "b" * 64, "only-one"),
        made,
    )
    done = run_airlock("leaderboard", "--results", str(tmp_path / "r"), "--out", str(tmp_path / "lb"),
                       "--suite", str(SAMPLES), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (board,) = json.loads(done.stdout)["boards"]
    assert len(board["tasks"]) == 4
    (row,) = board["rows"]
    assert sorted(t["status"] for t in row["tasks"]) == ["missing", "missing", "missing", "scored"]
    assert row["complete"] is False
