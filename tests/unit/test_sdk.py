"""The Python SDK's reading of what `predict` returns: named tables must name the task's
outputs exactly, never be read by position."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "images" / "sdk"))
from airlock_sdk import InvalidPredictionsError, Task, _encode


def _task(task_type: str = "multiclass") -> Task:
    return Task(
        bundle_id="b", fold_id="f", task_type=task_type, classes=["a", "b", "c"],
        positive_class=None, labels=["x", "y"], feature_names=["f1"], meta_columns=[],
        n_train=3, n_test=2, train_dir=Path("/nowhere"),
    )  # fmt: skip


def test_a_frame_with_the_task_s_columns_in_any_order_is_reordered() -> None:
    frame = pd.DataFrame([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], columns=["c", "a", "b"])
    assert _encode(_task(), frame) == {"proba": [[0.7, 0.1, 0.2], [0.25, 0.25, 0.5]]}


@pytest.mark.parametrize(
    ("columns", "unknown", "missing"),
    [
        (["0", "1", "2"], ["0", "1", "2"], ["a", "b", "c"]),  # sklearn's integer classes
        (["a", "b", "d"], ["d"], ["c"]),
        (["a", "b"], [], ["c"]),
    ],
)
def test_a_frame_with_other_columns_is_refused_with_the_names(
    columns: list[str], unknown: list[str], missing: list[str]
) -> None:
    frame = pd.DataFrame(np.full((2, len(columns)), 1 / len(columns)), columns=columns)
    with pytest.raises(InvalidPredictionsError) as caught:
        _encode(_task(), frame)
    text = str(caught.value)
    assert f"not classes: {unknown}" in text and f"missing: {missing}" in text


def test_serve_reports_wrong_columns_as_invalid_predictions(tmp_path: Path) -> None:
    """The whole SDK loop in a process: hello, fit, predict with a misnamed frame."""
    train = tmp_path / "train"
    train.mkdir()
    (train / "X.csv").write_text("id,f1\ns1,1.0\ns2,2.0\n")
    (train / "y.csv").write_text("id,label\ns1,a\ns2,b\n")
    (train / "meta.csv").write_text("id\ns1\ns2\n")
    model = tmp_path / "model.py"
    model.write_text(
        "import pandas as pd\nfrom airlock_sdk import serve\n"
        "class M:\n"
        "    def fit(self, X, y, meta, task): pass\n"
        "    def predict(self, X, meta, task):\n"
        "        return pd.DataFrame([[1/3]*3]*len(X), columns=[0, 1, 2])\n"
        "serve(M())\n"
    )
    task = {"bundle_id": "b", "fold_id": "f", "task_type": "multiclass",
            "classes": ["a", "b", "c"], "positive_class": None, "labels": [],
            "feature_names": ["f1"], "meta_columns": [], "n_train": 2, "n_test": 1}  # fmt: skip
    messages = [
        {"type": "hello", "protocol": 1, "task": task, "train_dir": str(train), "limits": {}},
        {"type": "fit"},
        {"type": "predict", "batch": 0, "ids": ["t1"], "X": [[1.5]], "meta": [[]]},
    ]
    done = subprocess.run(
        [sys.executable, str(model)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True, text=True, timeout=60, check=False,
        env={"PYTHONPATH": str(REPO / "images" / "sdk"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["type"] for r in replies] == ["ready", "fitted", "error"]
    assert replies[-1]["kind"] == "invalid_predictions"
    assert "not classes: ['0', '1', '2']" in replies[-1]["message"]
    assert "airlock_sdk: predict returned a DataFrame" in done.stderr
    assert done.returncode == 1


def test_the_runner_judges_a_reported_invalid_prediction_as_such() -> None:
    import time

    from runner.errors import ReportedInvalidPredictions
    from runner.protocol.channel import Channel
    from runner.reasons import matches_a_template
    from runner.verdict import Evidence, Status, decide
    from tests.unit.test_protocol import ScriptedSandbox

    line = b'{"type":"error","kind":"invalid_predictions","message":"columns [0, 1] \\u001b"}\n'
    with pytest.raises(ReportedInvalidPredictions) as caught:
        Channel(ScriptedSandbox([line])).receive(
            phase="predict", deadline=time.monotonic() + 1, limit=1
        )
    verdict = decide(Evidence(fault=caught.value, exit_code=1))
    assert verdict.status is Status.INVALID_PREDICTIONS
    assert "columns [0, 1]" in verdict.reason and "\x1b" not in verdict.reason
    assert matches_a_template(verdict.public_reason) and "[0, 1]" not in verdict.public_reason
