"""Helpers shared by the tests: copies of sample bundles with changed settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from runner.bundle import manifest
from runner.bundle.load import read_spec

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "task_bundles"
AIRLOCK = [sys.executable, "-m", "runner"]


def run_airlock(
    *args: str, timeout: float = 600, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The ``airlock`` command as a user runs it: a real process, its output and exit code."""
    return subprocess.run(
        [*AIRLOCK, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
        check=False,
    )


def copy_bundle(name: str, dest: Path) -> Path:
    """A private copy of a committed sample bundle (safe to break)."""
    target = dest / name
    shutil.copytree(SAMPLES / name, target)
    return target


def bundle_variant(
    name: str,
    dest: Path,
    *,
    folds: list[str] | None = None,
    **changes: Any,
) -> Path:
    """A copy of a sample bundle with bundle.yaml fields replaced (merged one level deep)
    and, with ``folds``, only those folds kept; the manifest is rewritten."""
    target = copy_bundle(name, dest)
    raw = yaml.safe_load((target / "bundle.yaml").read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key].update(value)
        else:
            raw[key] = value
    if folds is not None:
        for fold in raw["folds"]:
            if fold not in folds:
                shutil.rmtree(target / "folds" / fold)
                shutil.rmtree(target / "sealed" / fold)
        raw["folds"] = folds
    (target / "bundle.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    spec, problems = read_spec(target)
    assert spec is not None, problems
    manifest.write_manifest(target, target / "sealed", spec.folds)
    return target
