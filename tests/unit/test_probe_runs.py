"""Robustness probes through the real protocol, without Docker: the SDK and the Node.js
sample answer probe messages unchanged, and `airlock run --command ... --probes` keeps the
clean scores, types every probe failure and reuses folds only under the same probes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLES, bundle_variant, run_airlock

HOSTILE = REPO / "tests" / "fixtures" / "hostile" / "hostile.py"
BRITTLE = REPO / "sample_submissions" / "brittle" / "model.py"
NODE_SAMPLE = REPO / "sample_submissions" / "node-centroid" / "main.js"
TASK = {
    "bundle_id": "b", "fold_id": "f", "task_type": "binary", "classes": ["g", "s"],
    "positive_class": "s", "labels": [], "feature_names": ["f1", "f2"], "meta_columns": ["m"],
    "n_train": 4, "n_test": 2,
}  # fmt: skip


def _conversation(train: Path) -> str:
    """hello, fit, the clean predict (batch 0), two probe series (batches 1 and 2, one with a
    missing value), shutdown."""
    ids = ["t1", "t2"]
    messages = [
        {"type": "hello", "protocol": 1, "task": TASK, "train_dir": str(train), "limits": {}},
        {"type": "fit"},
        {"type": "predict", "batch": 0, "ids": ids, "X": [[1, 2], [3, 4]], "meta": [["a"], ["b"]]},
        {"type": "predict", "batch": 1, "ids": ids, "X": [[None, 2], [3, None]],
         "meta": [["a"], ["b"]], "probe": "dropout@0.5"},
        {"type": "predict", "batch": 2, "ids": ids[::-1], "X": [[3, 4], [1, 2]],
         "meta": [["b"], ["a"]], "probe": "permutation@1"},
        {"type": "shutdown"},
    ]  # fmt: skip
    return "".join(json.dumps(m) + "\n" for m in messages)


@pytest.fixture
def train_dir(tmp_path: Path) -> Path:
    train = tmp_path / "train"
    train.mkdir()
    (train / "X.csv").write_text("id,f1,f2\nr1,1,2\nr2,3,4\nr3,1.5,2\nr4,3,4.5\n")
    (train / "y.csv").write_text("id,label\nr1,g\nr2,s\nr3,g\nr4,s\n")
    (train / "meta.csv").write_text("id,m\nr1,a\nr2,b\nr3,a\nr4,b\n")
    return train


def _replies(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def _check_answers(replies: list[dict[str, Any]]) -> None:
    predictions = [r for r in replies if r["type"] == "predictions"]
    assert [r["batch"] for r in predictions] == [0, 1, 2]
    assert predictions[2]["ids"] == ["t2", "t1"]
    assert predictions[2]["proba"] == predictions[0]["proba"][::-1]  # rows read by id


def test_the_python_sdk_answers_probe_messages_with_no_change(train_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BRITTLE)],
        input=_conversation(train_dir), capture_output=True, text=True, timeout=120,
        check=False, env={"PYTHONPATH": str(REPO / "images" / "sdk"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _check_answers(_replies(done.stdout))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed on this machine")
def test_the_node_sample_answers_probe_messages_with_no_change(train_dir: Path) -> None:
    done = subprocess.run(
        ["node", str(NODE_SAMPLE)], input=_conversation(train_dir), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _check_answers(_replies(done.stdout))


def test_the_minimal_submission_of_the_protocol_page_answers_probes(
    train_dir: Path, tmp_path: Path
) -> None:
    page = (REPO / "docs" / "protocol.md").read_text()
    code = page.split("```python\n")[-1].split("```")[0]
    program = tmp_path / "minimal.py"
    program.write_text(code)
    done = subprocess.run(
        [sys.executable, str(program)], input=_conversation(train_dir), capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _check_answers(_replies(done.stdout))


def _result(root: Path) -> dict[str, Any]:
    (path,) = root.glob("*/*/result.json")
    return dict(json.loads(path.read_text()))


def _run(bundle: Path, results: Path, *extra: str, command: str | None = None) -> dict[str, Any]:
    done = run_airlock(
        "run", "--command", command or f"{sys.executable} {BRITTLE}", "--bundle", str(bundle),
        "--results", str(results), "-q", *extra,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return _result(results)


def test_probes_leave_the_clean_scores_bit_for_bit_and_add_a_probe_phase(tmp_path: Path) -> None:
    bundle = SAMPLES / "synth-multilabel"
    plain = _run(bundle, tmp_path / "plain")
    probed = _run(bundle, tmp_path / "probed", "--probes", "dropout,noise=0.5:1,permutation")
    for before, after in zip(plain["folds"], probed["folds"], strict=True):
        assert after["metrics"] == before["metrics"]  # JSON floats: bit for bit
        assert after["details"] == before["details"]
        assert (
            "probe" in after["resources"]["phases"] and "probe" not in before["resources"]["phases"]
        )
        levels = after["robustness"]["levels"]
        assert [lv["series"] for lv in levels] == [
            "dropout@0.1", "dropout@0.25", "dropout@0.5", "noise@0.5", "noise@1", "permutation@1",
        ]  # fmt: skip
        assert {lv["status"] for lv in levels} == {"ok"}
        permutation = levels[-1]
        assert (
            permutation["agreement"] == 1.0
            and permutation["metric"] == after["metrics"]["micro_f1"]
        )
    assert plain["aggregate"] == probed["aggregate"]
    assert plain["statistics"]["metrics"] == probed["statistics"]["metrics"]
    assert plain["statistics"].get("robustness") is None
    summary = probed["statistics"]["robustness"]
    assert [c["probe"] for c in summary["curves"]] == ["dropout", "noise", "permutation"]
    assert 0 < summary["score"] <= 1
    table = run_airlock("results", "table", "--results", str(tmp_path / "probed"))
    assert "robustness" in table.stdout and f"{summary['score']:.3f}" in table.stdout


def test_stored_folds_are_reused_only_under_the_same_probes() -> None:
    from runner import resume
    from runner.evaluate import LogPolicy
    from runner.plan import BundlePlan, ResourceRequest, applied_limits, load_for_run
    from runner.probe_settings import parse_option, resolve
    from runner.sandbox.base import ImageInfo

    (bundle,) = load_for_run([SAMPLES / "synth-loco-3class"], None)
    image = ImageInfo("img", "sha256:" + "0" * 64, [], "", {})
    applied = applied_limits(bundle, ResourceRequest())

    def plan(probes: str | None) -> BundlePlan:
        asked = resolve(parse_option(probes), None) if probes else None
        return BundlePlan(bundle, applied, image, LogPolicy(), "team", True, asked)

    plain = resume.fingerprint(image.id, bundle.hash, applied, False, LogPolicy().tail_lines)
    assert plan(None).fingerprint == plain  # runs without probes reuse what they always did
    assert plan("noise=1").fingerprint == plan("noise=1").fingerprint != plain
    assert plan("noise=1").fingerprint != plan("noise=2").fingerprint
    assert plan("noise=1").job("crew_C1", "run").probes == resolve(parse_option("noise=1"), None)


@pytest.mark.parametrize(
    ("behaviour", "status", "reason"),
    [
        ("probe_hang", "timeout", "probe phase exceeded its 3 s limit"),
        ("probe_crash", "crashed", "exited with exit code 3 during probe"),
        ("probe_garbage", "protocol_error", "stdout line is not JSON (during probe)"),
        ("probe_wrong_batch", "protocol_error", "answer batch 0, expected batch 1"),
    ],
)
def test_a_failed_probe_is_typed_and_the_fold_keeps_its_clean_verdict(
    behaviour: str, status: str, reason: str, tmp_path: Path
) -> None:
    bundle = bundle_variant(
        "synth-lomo-highdim", tmp_path, folds=["mission_M1", "mission_M2"],
        time_limits={"handshake_seconds": 8, "fit_seconds": 15, "predict_seconds": 3},
    )  # fmt: skip
    env = {**os.environ, "AIRLOCK_TEST_BEHAVIOUR": behaviour}
    env["AIRLOCK_TEST_TARGET_FOLD"] = "mission_M1"
    done = run_airlock(
        "run", "--command", f"{sys.executable} {HOSTILE}", "--bundle", str(bundle),
        "--results", str(tmp_path / "r"), "--probes", "dropout=0.5,noise=1", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "\x1b[2J" not in done.stdout + done.stderr
    folds = {f["fold_id"]: f for f in _result(tmp_path / "r")["folds"]}
    attacked, other = folds["mission_M1"], folds["mission_M2"]
    assert attacked["status"] == "ok" and attacked["metrics"] == other["metrics"]
    first, second = attacked["robustness"]["levels"]
    assert first["status"] == status and reason in first["reason"], first
    assert "\n" not in first["reason"]
    assert second["status"] == "not_run"
    assert attacked["robustness"]["rauc"] == {"dropout": None, "noise": None}
    assert {lv["status"] for lv in other["robustness"]["levels"]} == {"ok"}


def test_invalid_probe_predictions_fail_each_series_and_the_rest_go_on(tmp_path: Path) -> None:
    bundle = bundle_variant("synth-lomo-highdim", tmp_path, folds=["mission_M1"])
    env = {**os.environ, "AIRLOCK_TEST_BEHAVIOUR": "probe_nan", "AIRLOCK_TEST_TARGET_FOLD": "*"}
    done = run_airlock(
        "run", "--command", f"{sys.executable} {HOSTILE}", "--bundle", str(bundle),
        "--results", str(tmp_path / "r"), "--probes", "dropout=0.5,noise=1", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    fold = _result(tmp_path / "r")["folds"][0]
    assert fold["status"] == "ok"
    statuses = [(lv["status"], lv["reason"][:40]) for lv in fold["robustness"]["levels"]]
    assert statuses == [("invalid_predictions", "32 ids have NaN or infinite probabilitie")] * 2


def test_a_bad_probes_option_is_a_usage_error(tmp_path: Path) -> None:
    done = run_airlock(
        "run", "--command", "python3 model.py", "--bundle", str(SAMPLES / "synth-loco-3class"),
        "--results", str(tmp_path), "--probes", "dropout,blur",
    )  # fmt: skip
    assert done.returncode == 2
    assert "--probes dropout,blur: unknown probe 'blur'" in done.stderr
