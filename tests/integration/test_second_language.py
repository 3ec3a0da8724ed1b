"""Proof that docs/protocol.md is enough: a Node.js submission written from it alone, with
no SDK and no Python in its image, passes the dry run on every sample bundle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLES, run_airlock

pytestmark = pytest.mark.docker

IMAGE = "airlock/sample-node-centroid:latest"


def test_the_node_sample_has_no_python_and_no_sdk(docker_client: Any) -> None:
    output = docker_client.containers.run(
        IMAGE,
        entrypoint=["sh", "-c", "command -v python3 || echo no-python; node --version"],
        remove=True,
        network_disabled=True,
    ).decode()
    assert output.splitlines()[0] == "no-python"
    assert output.splitlines()[1].startswith("v")
    source = (REPO / "sample_submissions" / "node-centroid" / "main.js").read_text()
    assert "require('fs')" in source
    assert "airlock_sdk" not in source


def test_the_node_sample_passes_the_dry_run_on_every_sample_bundle(
    tmp_path: Path, docker_client: Any
) -> None:
    done = run_airlock(
        "run", "--image", IMAGE, "--bundle", str(SAMPLES), "--results", str(tmp_path)
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*/*/result.json")]
    assert {r["provenance"]["bundle_id"] for r in results} == {p.name for p in SAMPLES.iterdir()}
    for result in results:
        assert result["aggregate"]["complete"] is True
        for fold in result["folds"]:
            assert fold["status"] == "ok", (result["provenance"]["bundle_id"], fold["reason"])
            assert fold["submission_name"] == "node-centroid"
            assert all(value is not None for value in fold["metrics"].values())
        # Better than chance on the well-separated synthetic tasks: it really learns.
        if result["provenance"]["bundle_id"] in ("synth-loco-3class", "synth-lomo-highdim"):
            assert result["aggregate"]["mean"] > 0.6
