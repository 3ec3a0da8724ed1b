"""A runner killed with SIGKILL in the middle of a suite loses only the folds that were
running: a re-run of the same image on the same bundle reuses every finished fold."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from runner.limits import LABEL_MANAGED, LABEL_OWNER
from tests.helpers import REPO, SAMPLES

pytestmark = pytest.mark.docker


def test_sigkill_mid_suite_then_resume(docker_client: Any, tmp_path: Path) -> None:
    image = "airlock-test/hostile-slow-fit:latest"
    docker_client.images.build(
        path=str(REPO / "tests" / "fixtures" / "hostile"),
        tag=image,
        rm=True,
        buildargs={"BEHAVIOUR": "slow_fit", "TARGET_FOLD": "*"},
    )
    results = tmp_path / "results"
    command = [sys.executable, "-m", "runner", "run", "--image", image, "--bundle", str(SAMPLES / "synth-loco-3class"),
               "--results", str(results), "--jobs", "1"]  # fmt: skip
    first = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(list(results.glob("*/*/folds/*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    records = sorted(p.stem for p in results.glob("*/*/folds/*.json"))
    assert 2 <= len(records) < 4, records
    assert not list(results.glob("*/*/result.json")), "a killed run must not leave a result"
    killed_owner = [
        c for c in docker_client.containers.list(all=True, filters={"label": LABEL_MANAGED})
        if c.labels.get(LABEL_OWNER, "").split(":")[1:2] == [str(first.pid)]
    ]  # fmt: skip
    second = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr
    (result_path,) = results.glob("*/*/result.json")
    result = json.loads(result_path.read_text())
    reused = sorted(f["fold_id"] for f in result["folds"] if f["reused_from"])
    fresh = sorted(f["fold_id"] for f in result["folds"] if not f["reused_from"])
    print(f"killed after {len(records)} finished folds; reused {reused}, ran again {fresh}")
    assert reused == records
    assert len(reused) + len(fresh) == 4
    assert f"reused {len(reused)} finished fold(s)" in second.stdout
    assert all(f["status"] == "ok" for f in result["folds"])
    assert result["aggregate"]["complete"] is True
    for container in killed_owner:  # the killed run's container was reaped by the re-run
        assert container.id not in {c.id for c in docker_client.containers.list(all=True)}
    forced = subprocess.run(
        [*command, "--force"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert forced.returncode == 0
    assert not any(f["reused_from"] for f in json.loads(result_path.read_text())["folds"])
