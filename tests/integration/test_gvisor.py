"""Sealed evaluations under gVisor (`--runtime runsc`): the same scores as runc, bit for bit,
on every sample bundle; the runtime in every fold's record and in provenance; a bundle that
requires gVisor refused under runc in one line and run under runsc. The hostile cases under
gVisor (OOM, timeouts, the lock channel) are in tests/hostile/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, bundle_variant, run_airlock

pytestmark = [pytest.mark.docker, pytest.mark.gvisor]


def _results(root: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in root.glob("*/*/result.json"):
        result = json.loads(path.read_text())
        found[result["provenance"]["bundle_id"]] = result
    return found


def test_every_sample_bundle_scores_the_same_under_gvisor_as_under_runc(
    docker_client: Any, gvisor: str, tmp_path: Path
) -> None:
    runs = {}
    for runtime in ("runc", gvisor):
        done = run_airlock(
            "run", "--image", "airlock/sample-logreg", "--bundle", str(REPO / "task_bundles"),
            "--sealed-mode", "--runtime", runtime, "--results", str(tmp_path / runtime), "-q",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        runs[runtime] = _results(tmp_path / runtime)
    bundles = sorted(p.name for p in (REPO / "task_bundles").iterdir() if p.is_dir())
    assert sorted(runs["runc"]) == sorted(runs[gvisor]) == bundles
    lines = []
    for bundle in bundles:
        runc, runsc = runs["runc"][bundle], runs[gvisor][bundle]
        assert runsc["provenance"]["runtime"] == gvisor
        assert runc["provenance"]["runtime"] == "runc"
        assert runsc["aggregate"] == runc["aggregate"]
        for under_runc, under_gvisor in zip(runc["folds"], runsc["folds"], strict=True):
            assert under_gvisor["status"] == under_runc["status"] == "ok"
            assert under_gvisor["metrics"] == under_runc["metrics"]  # bit for bit (JSON floats)
            assert under_gvisor["details"] == under_runc["details"]
            assert under_gvisor["resources"]["runtime"] == gvisor
            assert under_runc["resources"]["runtime"] == "runc"
        lines.append(f"{bundle}: {len(runc['folds'])} folds equal")
    print("; ".join(lines))


def test_a_bundle_that_requires_gvisor_runs_only_under_it(
    docker_client: Any, gvisor: str, tmp_path: Path
) -> None:
    bundle = bundle_variant(
        "synth-loco-3class", tmp_path, folds=["crew_C1"], isolation={"runtime": "runsc"}
    )
    refused = run_airlock(
        "run", "--image", "airlock/sample-logreg", "--bundle", str(bundle),
        "--results", str(tmp_path / "refused"),
    )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "airlock: error: bundle synth-loco-3class requires the gVisor runtime (isolation: "
        "{runtime: runsc}) but this run uses 'runc'; pass --runtime runsc; set it up with "
        "`sudo scripts/ensure-gvisor.sh` (docs/security.md)"
    )
    assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").rglob("*.json"))
    ran = run_airlock(
        "run", "--image", "airlock/sample-logreg", "--bundle", str(bundle), "--runtime", gvisor,
        "--sealed-mode", "--results", str(tmp_path / "ran"), "-q",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    (result,) = _results(tmp_path / "ran").values()
    assert result["provenance"]["runtime"] == gvisor
    assert [f["resources"]["runtime"] for f in result["folds"]] == [gvisor]
