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
from tests.helpers import REPO, SAMPLES


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
