"""The shared benchmark data and `airlock bundle import` over it, as the tests use them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from runner.cli import app
from runner.suites.spaceomicsbench.truth import TASK_IDS
from tests.helpers import REPO

SHARED = REPO.parent / "shared" / "data"

TASKS_WITH_DATA = [t for t in TASK_IDS if t not in {"B1", "F1", "F2", "F3"}]
"""SpaceOmicsBench tasks whose source files the shared folder has (B1, F1-F3 lack theirs)."""


def import_bundles(
    suite: str, source: Path, out: Path, *options: str, exit_code: int = 0
) -> Result:
    """`airlock bundle import SUITE --source SOURCE --out OUT [OPTIONS]`, checked for its
    exit code."""
    result = CliRunner().invoke(
        app, ["bundle", "import", suite, "--source", str(source), "--out", str(out), *options]
    )
    assert result.exit_code == exit_code, result.output
    return result
