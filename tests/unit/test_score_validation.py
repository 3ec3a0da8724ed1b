"""`airlock score` refuses malformed prediction files with exact one-line messages and exit
code 1 (every problem at once, never a traceback). The benchmark folders here are small
stand-ins written by the test, with the real benchmarks' layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runner.cli import app

LABELS = {"s1": 1.0, "s2": 0.0, "s3": 1.0, "s4": 0.0}


def _unit(folder: Path, labels: dict[str, float] = LABELS) -> None:
    folder.mkdir(parents=True)
    rows = "".join(f"{sample},{label}\n" for sample, label in labels.items())
    (folder / "test_y.csv").write_text(",0\n" + rows)


@pytest.fixture
def genelab_tasks(tmp_path: Path) -> Path:
    tasks = tmp_path / "tasks"
    for unit in ("fold_M1_test", "fold_M2_test", "fold_M3_holdout"):
        _unit(tasks / "A9_demo_lomo" / unit)
    for unit in ("pair_M1_M2", "pair_M2_M1"):
        _unit(tasks / "B9_demo_cross_mission" / unit)
    _unit(tasks / "A8_x" / "fold_M1_test")
    _unit(tasks / "A8_y" / "fold_M1_test")
    return tasks


def _valid() -> dict[str, Any]:
    fold = {"s1": 0.9, "s2": 0.2, "s3": 0.7, "s4": 0.4}
    return {
        "task_id": "A9",
        "model_name": "demo",
        "predictions": {"fold_M1_test": dict(fold), "fold_M2_test": dict(fold)},
    }


def _edit(change: Callable[[dict[str, Any]], None]) -> str:
    data = _valid()
    change(data)
    return json.dumps(data)


def _set_value(unit: str, sample: str, value: object) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["predictions"][unit][sample] = value

    return change


GENELAB_CASES: list[tuple[str, str, list[str], list[str]]] = [
    (
        "malformed JSON",
        '{"task_id": "A9",\n  "model_name": }',
        [],
        ["line 2, column 17: not valid JSON (Expecting value)"],
    ),
    ("top level list", "[1, 2]", [], ["expected a JSON object at the top level, got a list"]),
    (
        "missing predictions",
        json.dumps({"task_id": "A9", "model_name": "m"}),
        [],
        ["missing required key 'predictions'"],
    ),
    (
        "numeric model name",
        _edit(lambda d: d.update(model_name=123)),
        [],
        ["model_name must be a string, got a number"],
    ),
    (
        "model name with a space",
        _edit(lambda d: d.update(model_name="my model")),
        [],
        ["model_name 'my model' may hold only letters, digits, '_', '-' and '.'"],
    ),
    (
        "model name too long",
        _edit(lambda d: d.update(model_name="m" * 51)),
        [],
        ["model_name is 51 characters long; at most 50"],
    ),
    ("empty model name", _edit(lambda d: d.update(model_name="")), [], ["model_name is empty"]),
    (
        "task id not a string",
        _edit(lambda d: d.update(task_id=4)),
        [],
        ['task_id must be a non-empty string such as "A4", got a number'],
    ),
    (
        "unknown task",
        _edit(lambda d: d.update(task_id="A7")),
        [],
        ["task 'A7' not found: no folder A7_* in {tasks}"],
    ),
    (
        "ambiguous task",
        _edit(lambda d: d.update(task_id="A8")),
        [],
        ["task_id 'A8' is ambiguous (A8_x, A8_y); pass --task-dir"],
    ),
    (
        "task dir of another task",
        json.dumps(_valid()),
        ["--task-dir", "B9_demo_cross_mission"],
        ["--task-dir 'B9_demo_cross_mission' does not belong to task_id 'A9'"],
    ),
    (
        "predictions not an object",
        _edit(lambda d: d.update(predictions=[])),
        [],
        ["predictions must be an object {unit: {sample id: probability}}, got a list"],
    ),
    (
        "missing fold",
        _edit(lambda d: d["predictions"].pop("fold_M2_test")),
        [],
        ["1 of 2 required folds missing: 'fold_M2_test'"],
    ),
    (
        "unknown fold",
        _edit(lambda d: d["predictions"].update(fold_M9_test={})),
        [],
        ["1 unknown fold: 'fold_M9_test' (task A9 has 'fold_M1_test', 'fold_M2_test')"],
    ),
    (
        "unit not an object",
        _edit(lambda d: d["predictions"].update(fold_M1_test=[0.5])),
        [],
        ["fold_M1_test: expected an object {sample id: probability}, got a list"],
    ),
    (
        "missing sample ids",
        _edit(lambda d: [d["predictions"]["fold_M1_test"].pop(s) for s in ("s3", "s4")]),
        [],
        ["fold_M1_test: 2 of 4 sample ids missing: 's3', 's4'"],
    ),
    (
        "unknown sample id",
        _edit(_set_value("fold_M1_test", "zz", 0.5)),
        [],
        ["fold_M1_test: 1 unknown sample id: 'zz'"],
    ),
    (
        "string probability",
        _edit(_set_value("fold_M1_test", "s1", "0.5")),
        [],
        ["fold_M1_test: 1 value not a number: 's1' (\"0.5\")"],
    ),
    (
        "boolean probability",
        _edit(_set_value("fold_M2_test", "s2", True)),
        [],
        ["fold_M2_test: 1 value true/false, not a probability: 's2' (true)"],
    ),
    (
        "null probability",
        _edit(_set_value("fold_M1_test", "s4", None)),
        [],
        ["fold_M1_test: 1 value not a number: 's4' (null)"],
    ),
    (
        "out of range",
        _edit(lambda d: d["predictions"]["fold_M1_test"].update(s1=1.5, s2=-0.1)),
        [],
        ["fold_M1_test: 2 values outside [0, 1]: 's1' (1.5), 's2' (-0.1)"],
    ),
    (
        "NaN and Infinity",
        json.dumps(_valid()).replace("0.9", "NaN", 1).replace("0.2", "Infinity", 1),
        [],
        ["fold_M1_test: 2 values NaN or infinite: 's1' (NaN), 's2' (Infinity)"],
    ),
    (
        "duplicate sample id",
        json.dumps(_valid()).replace('"s2": 0.2', '"s1": 0.2', 1),
        [],
        [
            "fold_M1_test: 1 sample id given twice: 's1'",
            "fold_M1_test: 1 of 4 sample ids missing: 's2'",
        ],
    ),
    (
        "held-out fold validated",
        _edit(
            lambda d: d["predictions"].update(
                fold_M3_holdout={"s1": 2.0, "s2": 0, "s3": 0, "s4": 0}
            )
        ),
        [],
        ["fold_M3_holdout: 1 value outside [0, 1]: 's1' (2.0)"],
    ),
    (
        "category B needs pairs",
        _edit(lambda d: d.update(task_id="B9")),
        [],
        [
            "2 of 2 required pairs missing: 'pair_M1_M2', 'pair_M2_M1'",
            "2 unknown pairs: 'fold_M1_test', 'fold_M2_test' (task B9 has 'pair_M1_M2', 'pair_M2_M1')",
        ],
    ),
    (
        "object value with a repeated key",
        json.dumps(_valid()).replace('"s1": 0.9', '"s1": {"a": 1, "a": 2}', 1),
        [],
        ["fold_M1_test: 1 value not a number: 's1' ({\"a\": 2})"],
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "options", "expected"), GENELAB_CASES, ids=[c[0] for c in GENELAB_CASES]
)
def test_genelab_validation(
    genelab_tasks: Path,
    tmp_path: Path,
    case: str,
    text: str,
    options: list[str],
    expected: list[str],
) -> None:
    submission = tmp_path / "submission.json"
    submission.write_text(text)
    result = CliRunner().invoke(
        app, ["score", "genelab", str(submission), "--tasks", str(genelab_tasks), *options]
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines == [f"{submission}: " + e.replace("{tasks}", str(genelab_tasks)) for e in expected]
    assert "Traceback" not in result.output


def test_genelab_valid_submission_scores(genelab_tasks: Path, tmp_path: Path) -> None:
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps(_valid()))
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "genelab",
            str(submission),
            "--tasks",
            str(genelab_tasks),
            "--output",
            str(out),
            "--n-bootstrap",
            "50",
            "--n-perm",
            "50",
        ],
    )
    assert result.exit_code == 0, result.output
    scored = json.loads(out.read_text())
    assert [f["fold"] for f in scored["fold_results"]] == ["fold_M1_test", "fold_M2_test"]
    assert scored["fold_results"][0]["auroc"] == 1.0
    assert scored["airlock"]["heldout_validated_not_scored"] == []
    validate_only = CliRunner().invoke(
        app, ["score", "genelab", str(submission), "--tasks", str(genelab_tasks), "--validate-only"]
    )
    assert validate_only.exit_code == 0
    assert validate_only.stdout == ""


def test_genelab_keys_are_data_never_markers(genelab_tasks: Path, tmp_path: Path) -> None:
    """Keys are the participant's data: a top-level key named like the marker under which
    repeated keys were once recorded inside the parsed document ("\\0duplicates") is an
    ignored extra key, not a repeat."""
    data = _valid()
    data["\0duplicates"] = ["task_id"]
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps(data))
    result = CliRunner().invoke(
        app, ["score", "genelab", str(submission), "--tasks", str(genelab_tasks), "--validate-only"]
    )
    assert result.exit_code == 0, result.output


# ---- SpaceOmicsBench -------------------------------------------------------------------------


@pytest.fixture
def spaceomics_source(tmp_path: Path) -> Path:
    """A three-task stand-in: binary D1 (2 folds of 3), multiclass A1, multilabel B2."""
    source = tmp_path / "sob"
    data = source / "data" / "processed"
    data.mkdir(parents=True)
    (source / "tasks").mkdir()
    (source / "splits").mkdir()

    def task(task_id: str, kind: str, split: str, primary: str) -> None:
        definition = {
            "task_id": task_id,
            "task_type": kind,
            "split": split,
            "evaluation": {"primary_metric": primary, "secondary_metrics": []},
        }
        (source / "tasks" / f"{task_id}.json").write_text(json.dumps(definition))

    def split(name: str, folds: list[list[int]], n: int) -> None:
        entries = [
            {"rep": k, "test_indices": t, "train_indices": [i for i in range(n) if i not in t]}
            for k, t in enumerate(folds)
        ]
        (source / "splits" / f"{name}.json").write_text(json.dumps(entries))

    (data / "metabolomics_spaceflight_response.csv").write_text(
        "metabolite,is_spaceflight_de\n"
        + "".join(f"m{i},{'True' if i % 2 else 'False'}\n" for i in range(6))
    )
    task("D1", "binary_classification", "feature_split_D1", "auroc")
    split("feature_split_D1", [[0, 1, 2], [3, 4, 5]], 6)
    (data / "clinical_cbc.csv").write_text(
        "sample_id,phase\n"
        + "".join(f"c{i},{['pre_flight', 'post_flight', 'recovery'][i % 3]}\n" for i in range(6))
    )
    task("A1", "multi_class_classification", "loco_clinical", "macro_f1")
    split("loco_clinical", [[0, 1, 2], [3, 4, 5]], 6)
    (data / "gt_cfrna_cluster_labels.csv").write_text(
        "gene,L1,L2\n" + "".join(f"g{i},{i % 2},{(i + 1) % 2}\n" for i in range(6))
    )
    task("B2", "multilabel_classification", "feature_split_B2", "micro_f1")
    split("feature_split_B2", [[0, 1, 2], [3, 4, 5]], 6)
    return source


SOB_CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "malformed JSON",
        "D1",
        '{"predictions": [',
        ["line 1, column 18: not valid JSON (Expecting value)"],
    ),
    ("no predictions key", "D1", '{"preds": []}', ['expected an object with a "predictions" list']),
    (
        "predictions not a list",
        "D1",
        '{"predictions": {"0": []}}',
        ['"predictions" must be a list (one entry per fold), got an object'],
    ),
    (
        "too few entries",
        "D1",
        '{"predictions": [{"y_score": [0.1, 0.2, 0.3]}]}',
        [
            "1 prediction entries for the 2 folds of feature_split_D1 (entries are matched to folds by position)"
        ],
    ),
    (
        "wrong length",
        "D1",
        '{"predictions": [{"y_score": [0.1, 0.2]}, {"y_score": [0.1, 0.2, 0.3]}]}',
        ["fold 0 (rep0): y_score has 2 values, the fold has 3 test rows"],
    ),
    (
        "missing y_score",
        "D1",
        '{"predictions": [{"y_pred": [1, 0, 1]}, {"y_score": [0.1, 0.2, 0.3]}]}',
        ["fold 0 (rep0): missing 'y_score' (a list of 3 values)"],
    ),
    (
        "bad scores",
        "D1",
        '{"predictions": [{"y_score": [NaN, true, 1.5]}, {"y_score": [0.1, "x", 0.3]}]}',
        [
            "fold 0 (rep0): y_score: 1 value true/false, not a probability (rows 1)",
            "fold 0 (rep0): y_score: 1 value NaN or infinite (rows 0)",
            "fold 0 (rep0): y_score: 1 value outside [0, 1] (rows 2)",
            "fold 1 (rep1): y_score: 1 value not a number (rows 1)",
        ],
    ),
    (
        "unknown class",
        "A1",
        '{"predictions": [{"y_pred": ["pre_flight", "in_orbit", "recovery"]}, {"y_pred": ["pre_flight", "recovery", 3]}]}',
        [
            "fold 0 (rep0): 1 y_pred value not a class name ['pre_flight', 'post_flight', 'recovery'] (rows 1)",
            "fold 1 (rep1): 1 y_pred value not a class name ['pre_flight', 'post_flight', 'recovery'] (rows 2)",
        ],
    ),
    (
        "multilabel width",
        "B2",
        '{"predictions": [{"y_pred": [[1, 0], [1], [0, 0]]}, {"y_pred": [[1, 0], [0, 1], [2, 0]]}]}',
        [
            "fold 0 (rep0): 1 y_pred row not 2 values of 0 or 1 (rows 1)",
            "fold 1 (rep1): 1 y_pred row not 2 values of 0 or 1 (rows 2)",
        ],
    ),
    (
        "entry not an object",
        "B2",
        '{"predictions": [[1, 0], {"y_pred": [[1, 0], [0, 1], [0, 0]]}]}',
        ["fold 0 (rep0): expected an object, got a list"],
    ),
    (
        "multilabel scores",
        "B2",
        '{"predictions": [{"y_pred": [[1, 0], [0, 1], [0, 0]], "y_score": [[0.1, 0.2], [0.3]]}, '
        '{"y_pred": [[1, 0], [0, 1], [true, false]], "y_score": [[0.1, 2], [0.3, 0.4], [NaN, "x"]]}]}',
        [
            "fold 0 (rep0): y_score must be 3 rows of 2 numbers when given",
            "fold 1 (rep1): y_score: 1 value not a number (rows 5)",
            "fold 1 (rep1): y_score: 1 value NaN or infinite (rows 4)",
            "fold 1 (rep1): y_score: 1 value outside [0, 1] (rows 1)",
        ],
    ),
    (
        "JSON nested too deeply",
        "D1",
        '{"predictions": ' + "[" * 100_000 + "]" * 100_000 + "}",
        ["JSON nests too deeply"],
    ),
]


@pytest.mark.parametrize(
    ("case", "task", "text", "expected"), SOB_CASES, ids=[c[0] for c in SOB_CASES]
)
def test_spaceomicsbench_validation(
    spaceomics_source: Path, tmp_path: Path, case: str, task: str, text: str, expected: list[str]
) -> None:
    predictions = tmp_path / "preds"
    predictions.mkdir()
    (predictions / f"{task}.json").write_text(text)
    result = CliRunner().invoke(
        app, ["score", "spaceomicsbench", str(predictions), "--source", str(spaceomics_source)]
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines == [f"{predictions / (task + '.json')}: {e}" for e in expected]


def test_unknown_task_file_and_missing_requested_task(
    spaceomics_source: Path, tmp_path: Path
) -> None:
    predictions = tmp_path / "preds"
    predictions.mkdir()
    (predictions / "Z9.json").write_text("{}")
    result = CliRunner().invoke(
        app,
        [
            "score",
            "spaceomicsbench",
            str(predictions),
            "--source",
            str(spaceomics_source),
            "--task",
            "D1",
        ],
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{predictions / 'Z9.json'}: not a SpaceOmicsBench task id (tasks are A1, A2, B1, B2, C1, C2, D1, E1, E2, E3, E4, F1, F2, F3, F4, F5, G1, H1, I1, I2, I3)",
        f"{predictions / 'D1.json'}: no prediction file for task D1",
    ]


def test_spaceomicsbench_valid_directory_scores(spaceomics_source: Path, tmp_path: Path) -> None:
    predictions = tmp_path / "preds"
    predictions.mkdir()
    (predictions / "D1.json").write_text(
        json.dumps({"predictions": [{"y_score": [0.2, 0.9, 0.1]}, {"y_score": [0.8, 0.3, 0.7]}]})
    )
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "spaceomicsbench",
            str(predictions),
            "--source",
            str(spaceomics_source),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    scored = document["results"]["D1"]
    assert [f["auroc"] for f in scored["per_split"]] == [1.0, 1.0]
    assert [f["split_info"] for f in scored["per_split"]] == [{"rep": 0}, {"rep": 1}]
    assert scored["aggregate"]["primary"]["mean"] == 1.0
    # This stand-in's task JSON has neither task_name nor n_samples: filled in, and said so.
    assert (scored["task_name"], scored["n_samples"]) == ("D1", 6)
    assert document["airlock"]["tasks"]["D1"]["notes"] == [
        "tasks/D1.json has no task_name; task_name is the task id",
        "tasks/D1.json has no n_samples; n_samples is the number of rows",
    ]
    assert (document["n_tasks"], list(document["results"])) == (21, ["D1"])


def test_spaceomicsbench_undefined_values_follow_the_harness(
    spaceomics_source: Path, tmp_path: Path
) -> None:
    """Where the harness writes NaN (per-label AUROC of a single-class label) the output has
    null; where it leaves the key out (mean_auroc with no label defined) so does Airlock."""
    (spaceomics_source / "data" / "processed" / "gt_cfrna_cluster_labels.csv").write_text(
        "gene,L1,L2\ng0,0,0\ng1,0,0\ng2,0,0\ng3,1,0\ng4,0,1\ng5,1,0\n"
    )
    predictions = tmp_path / "preds"
    predictions.mkdir()
    rows = [[1, 0], [0, 1], [0, 0]]
    scores = [[0.9, 0.1], [0.2, 0.8], [0.4, 0.3]]
    (predictions / "B2.json").write_text(
        json.dumps({"predictions": [{"y_pred": rows, "y_score": scores}] * 2})
    )
    result = CliRunner().invoke(
        app, ["score", "spaceomicsbench", str(predictions), "--source", str(spaceomics_source)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    first, second = document["results"]["B2"]["per_split"]
    assert list(first) == ["micro_f1", "macro_f1", "hamming_loss", "per_label_auroc", "split_info"]
    assert first["per_label_auroc"] == {"L1": None, "L2": None}
    assert list(second)[-2:] == ["mean_auroc", "split_info"]
    assert second["per_label_auroc"] == {"L1": 1.0, "L2": 1.0}
    aggregate = document["results"]["B2"]["aggregate"]
    assert list(aggregate) == ["hamming_loss", "macro_f1", "mean_auroc", "micro_f1", "primary"]
    assert aggregate["mean_auroc"] == {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}
    airlock = document["airlock"]["tasks"]["B2"]
    assert airlock["n_folds_per_metric"]["mean_auroc"] == 1
    assert airlock["per_fold"][0]["undefined"] == {
        "mean_auroc": "no label has both classes in the fold"
    }
