"""Hostile submissions against the robustness probes (`airlock run --probes`): each one
answers the clean predict well, then hangs, crashes, writes garbage, answers the wrong batch
or sends invalid predictions on the probes, or tries to carry its training data out through
its error message. For every case: the attacked fold keeps its clean status and score, the
probe that failed has its typed reason and the later ones are `not_run`, the other fold's
probes are all ok, no traceback, nothing left behind, the runner under 300 MiB."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.conftest import TARGET_FOLD
from tests.hostile.test_hostile_submissions import (
    _CONTROL,
    RSS_LIMIT_MIB,
    _build,
    _leftovers,
    _run,
    _runner_own_lines,
)

pytestmark = pytest.mark.docker

PROBES = ("--probes", "dropout=0.5,noise=1")
CASES = [
    # (behaviour, first probe's status, text its full reason must contain, later probes)
    ("probe_hang", "timeout", "probe phase exceeded its 8 s limit", "not_run"),
    ("probe_crash", "crashed", "exited with exit code 3 during probe", "not_run"),
    ("probe_garbage", "protocol_error", "stdout line is not JSON (during probe)", "not_run"),
    ("probe_wrong_batch", "protocol_error", "answer batch 0, expected batch 1", "not_run"),
    (
        "probe_nan",
        "invalid_predictions",
        "have NaN or infinite probabilities",
        "invalid_predictions",
    ),
]


def _folds(results: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    (path,) = results.glob("*/*/result.json")
    return path, {f["fold_id"]: f for f in json.loads(path.read_text())["folds"]}


@pytest.mark.parametrize(
    ("behaviour", "status", "reason", "later"), CASES, ids=[c[0] for c in CASES]
)
def test_a_hostile_probe_leaves_the_clean_verdict_and_is_typed(
    behaviour: str,
    status: str,
    reason: str,
    later: str,
    hostile_bundle: Path,
    docker_client: Any,
    tmp_path: Path,
    hostile_report: list[dict[str, Any]],
) -> None:
    image = _build(docker_client, behaviour)
    code, rss, stdout, stderr = _run(image, hostile_bundle, tmp_path / "results", *PROBES)
    assert code == 0, (stdout + stderr)[-3000:]
    path, folds = _folds(tmp_path / "results")
    attacked, other = folds[TARGET_FOLD], folds["mission_M2"]
    first, second = attacked["robustness"]["levels"]
    hostile_report.append(
        {
            "case": f"{behaviour} (--probes)", "fold": TARGET_FOLD, "expected": f"ok; probe {status}",
            "status": f"{attacked['status']}; probe {first['status']}", "other": other["status"],
            "rss_mib": rss, "reason": first["reason"],
        }
    )  # fmt: skip
    assert attacked["status"] == "ok" and attacked["reason"] == "", attacked["reason"]
    assert attacked["metrics"] == other["metrics"]  # the constant answer scores the same
    assert first["status"] == status and reason in first["reason"], first
    assert "\n" not in first["reason"] and len(first["reason"]) <= 700
    assert second["status"] == later
    assert attacked["robustness"]["rauc"] == {"dropout": None, "noise": None}
    assert "probe" in attacked["resources"]["phases"]
    assert {lv["status"] for lv in other["robustness"]["levels"]} == {"ok"}
    assert "Traceback" not in _runner_own_lines(stdout + stderr)
    assert not _CONTROL.search(stdout + stderr), "escape sequences reached the terminal"
    assert path.stat().st_size < 200_000
    run_id = json.loads(path.read_text())["provenance"]["run_id"]
    assert _leftovers(docker_client, run_id) == []
    assert rss < RSS_LIMIT_MIB, f"runner peak RSS {rss:.0f} MiB"


def test_sealed_mode_shows_a_failed_probe_s_template_and_nothing_it_wrote(
    hostile_bundle: Path, docker_client: Any, tmp_path: Path, hostile_report: list[dict[str, Any]]
) -> None:
    """Its error message on the probe carries its training data: sealed results show a
    fixed template for the probe (and scores), the organizer's private record the text."""
    image = _build(docker_client, "probe_exfil")
    train = (hostile_bundle / "folds" / TARGET_FOLD / "train" / "X.csv").read_text().splitlines()[1]
    token = "SECRET[" + train.strip()[:60] + "]"
    code, rss, stdout, stderr = _run(
        image, hostile_bundle, tmp_path / "results", "--sealed-mode", *PROBES
    )
    assert code == 0, (stdout + stderr)[-3000:]
    path, folds = _folds(tmp_path / "results")
    attacked = folds[TARGET_FOLD]
    first, second = attacked["robustness"]["levels"]
    hostile_report.append(
        {
            "case": "probe_exfil (--probes, sealed mode)", "fold": TARGET_FOLD,
            "expected": "ok; probe crashed", "status": f"{attacked['status']}; probe {first['status']}",
            "other": folds["mission_M2"]["status"], "rss_mib": rss, "reason": first["reason"],
        }
    )  # fmt: skip
    assert attacked["status"] == "ok" and code == 0
    assert first["status"] == "crashed"
    assert first["reason"] in (
        "the submission reported an error during probe (message withheld)",
        "exited with a non-zero exit code during probe",
    )
    assert second["reason"] == "not run: an earlier probe of this fold failed"
    assert set(attacked["resources"]["phases"]) <= {"fit", "predict", "probe"}
    text = path.read_text()
    assert token[:20] not in text and token[:20] not in stdout + stderr
    private = json.loads((path.parent / "folds" / f"{TARGET_FOLD}.json").read_text())["private"]
    private_first = private["robustness"]["levels"][0]
    assert private_first["status"] == "crashed" and private_first["reason"] != first["reason"]
