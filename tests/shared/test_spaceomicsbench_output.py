"""`airlock score spaceomicsbench` writes the SpaceOmicsBench harness's result file.

The harness (`evaluation/eval_harness.py`, `run_full_benchmark`) writes one file for all the
tasks it scores: `benchmark`, `version`, `n_tasks`, `results` (task id -> `task_id`,
`task_name`, `task_type`, `n_samples`, `primary_metric`, `per_split`, `aggregate`, and for C2
`direction_concordance`). The layout below is written out here from that definition, not
taken from Airlock's code, and the output is checked against it key by key, with value
types, on predictions built from the real data. The numbers are the ones the existing
tests expect (an independent scikit-learn computation, and the spec's LogReg folds).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from typer.testing import CliRunner

from runner.cli import app
from tests.shared.test_published_scores import (
    PUBLISHED_LOGREG,
    _labels_and_features,
    _logreg_entries,
    _sklearn_fold,
)

pytestmark = pytest.mark.shared_data

HARNESS_ORDER = [
    *("A1", "A2", "B1", "B2", "C1", "C2", "D1", "E1", "E4", "F1", "F2", "F3", "F4", "F5"),
    *("G1", "H1", "I1", "I2", "I3", "E2", "E3"),
]  # the harness's ALL_TASKS: the 19 main tasks, then the supplementary E2 and E3
TASK_KEYS = ["task_id", "task_name", "task_type", "n_samples", "primary_metric", "per_split"]
SPLIT_KEYS = {
    "binary_classification": [
        "auroc",
        "auprc",
        "f1",
        "positive_rate",
        "n_positive",
        "n_total",
        "precision_at_50",
        "ndcg_at_50",
        "precision_at_100",
        "ndcg_at_100",
    ],
    "multi_class_classification": [
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "per_class_f1",
        "confusion_matrix",
    ],
    "multilabel_classification": [
        "micro_f1",
        "macro_f1",
        "hamming_loss",
        "per_label_auroc",
        "mean_auroc",
    ],
}
INTEGER_METRICS = {"n_positive", "n_total"}
A1_CLASSES = ["pre_flight", "post_flight", "recovery"]  # the harness's class list, in order
NULLABLE = {"auroc", "auprc"}  # the harness writes NaN there on a single-class fold; Airlock null
SPLITS = {
    "A1": "loco_clinical",
    "B2": "feature_split_B2",
    "C2": "feature_split_C2",
    "E2": "feature_split_E2",
    "F3": "loto_microbiome",
    "I2": "feature_split_I2",
}


def _no_nan(name: str) -> None:
    raise AssertionError(f"{name} in the output: not JSON")


def _labels(source: Path, task: str) -> tuple[np.ndarray, list[str] | None]:
    if task == "F3":  # humans first, as the split and the corrected contract order them
        meta = pd.read_csv(source / "data" / "processed" / "microbiome_metadata.csv")
        n_human, n_env = (
            (meta["source"] == "human").sum(),
            (meta["source"] == "environmental").sum(),
        )
        return np.r_[np.ones(n_human, dtype=int), np.zeros(n_env, dtype=int)], None
    if task == "E2":
        table = pd.read_csv(source / "data" / "processed" / "gt_spatial_de_inner_epidermis.csv")
        return (table["adj_pval"].fillna(1.0) < 0.05).astype(int).to_numpy(), None
    y, _, classes = _labels_and_features(source, task)
    return y, classes


def _entries(
    source: Path, task: str, y: np.ndarray, folds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if task in PUBLISHED_LOGREG:
        _, x, _ = _labels_and_features(source, task)
        return _logreg_entries(task, y, x, folds)
    rng = np.random.default_rng(11)
    entries: list[dict[str, Any]] = []
    for fold in folds:
        n = len(fold["test_indices"])
        if task == "B2":
            entries.append(
                {
                    "y_pred": (rng.random((n, y.shape[1])) < 0.2).astype(int).tolist(),
                    "y_score": rng.random((n, y.shape[1])).round(3).tolist(),
                }
            )
        else:
            entries.append({"y_score": rng.random(n).round(3).tolist()})
    return entries


@pytest.fixture(scope="module")
def scored(spaceomics_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Predictions for A1, C2, I2 (LogReg), B2, E2, F3 (random) and an empty B1, scored."""
    predictions = tmp_path_factory.mktemp("sob-output")
    expected: dict[str, list[dict[str, float]]] = {}
    splits: dict[str, list[dict[str, Any]]] = {}
    for task, split in SPLITS.items():
        y, classes = _labels(spaceomics_dir, task)
        folds = json.loads((spaceomics_dir / "splits" / f"{split}.json").read_text())
        entries = _entries(spaceomics_dir, task, y, folds)
        (predictions / f"{task}.json").write_text(json.dumps({"predictions": entries}))
        splits[task] = folds
        expected[task] = []
        for fold, entry in zip(folds, entries, strict=True):
            truth = y[fold["test_indices"]]
            if task in ("F3", "E2"):
                score = np.array(entry["y_score"])
                values = {
                    "auprc": sk.average_precision_score(truth, score),
                    "f1": sk.f1_score(truth, (score >= 0.5).astype(int), zero_division=0),
                }
                if 0 < truth.sum() < truth.size:
                    values["auroc"] = sk.roc_auc_score(truth, score)
            else:
                values = _sklearn_fold(task, truth, entry, classes)
            expected[task].append(values)
    (predictions / "B1.json").write_text(json.dumps({"predictions": []}))
    out = predictions / "result.json"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "spaceomicsbench",
            str(predictions),
            "--source",
            str(spaceomics_dir),
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    return {
        "document": json.loads(text, parse_constant=_no_nan),
        "expected": expected,
        "splits": splits,
    }


def test_top_level_is_the_harness_layout_plus_one_airlock_key(scored: dict[str, Any]) -> None:
    document = scored["document"]
    assert list(document) == ["benchmark", "version", "n_tasks", "results", "airlock"]
    assert document["benchmark"] == "SpaceOmicsBench"
    assert document["version"] == "2.0"  # what the harness writes (a constant in its code)
    assert document["n_tasks"] == 21  # --task all: the harness's task list, not the files
    # harness order (E2 after the main tasks); B1's truth cannot be built: an error entry
    assert list(document["results"]) == ["A1", "B1", "B2", "C2", "F3", "I2", "E2"]
    assert document["results"]["B1"] == {"error": "source file missing: cfrna_3group_de_noleak.csv"}


def test_every_task_entry_matches_the_harness_key_by_key(
    scored: dict[str, Any], spaceomics_dir: Path
) -> None:
    results, splits = scored["document"]["results"], scored["splits"]
    for task, folds in splits.items():
        entry = results[task]
        definition = json.loads((spaceomics_dir / "tasks" / f"{task}.json").read_text())
        keys = [*TASK_KEYS, "aggregate"] + (["direction_concordance"] if task == "C2" else [])
        assert list(entry) == keys, task
        assert entry["task_id"] == task
        assert entry["task_name"] == definition["task_name"]
        assert entry["task_type"] == definition["task_type"]
        assert entry["n_samples"] == definition["n_samples"]
        assert type(entry["n_samples"]) is int
        assert entry["primary_metric"] == definition["evaluation"]["primary_metric"]
        kind = definition["task_type"]
        assert len(entry["per_split"]) == len(folds), task
        numeric: set[str] = set()
        for number, (split, fold) in enumerate(zip(entry["per_split"], folds, strict=True)):
            where = f"{task} split {number}"
            wanted = [k for k in SPLIT_KEYS[kind] if k in split] + ["split_info"]
            assert list(split) == wanted, where
            missing = set(SPLIT_KEYS[kind]) - set(split)
            assert missing <= {"mean_auroc"}, (where, missing)  # the harness may omit only it
            info = {k: v for k, v in fold.items() if k not in ("train_indices", "test_indices")}
            assert list(split["split_info"].items()) == list(info.items()), where
            for key in SPLIT_KEYS[kind]:
                if key not in split:
                    continue
                value = split[key]
                if key in INTEGER_METRICS:
                    assert type(value) is int, (where, key)
                elif key == "per_class_f1":
                    assert list(value) == A1_CLASSES, where  # A1 is the multiclass task here
                    assert all(type(v) is float for v in value.values()), where
                elif key == "confusion_matrix":
                    k = len(A1_CLASSES)
                    assert len(value) == k and all(len(row) == k for row in value), where
                    assert all(type(c) is int for row in value for c in row), where
                    assert sum(map(sum, value)) == len(fold["test_indices"]), where
                elif key == "per_label_auroc":
                    assert len(value) == 16, where
                    assert all(v is None or type(v) is float for v in value.values()), where
                elif value is None:
                    assert key in NULLABLE, (where, key)
                else:
                    assert type(value) is float, (where, key, value)
                if value is not None and type(value) in (int, float):
                    numeric.add(key)
        aggregate = entry["aggregate"]
        assert list(aggregate) == [*sorted(numeric), "primary"], task
        for name in sorted(numeric):
            values = [s[name] for s in entry["per_split"] if s.get(name) is not None]
            assert list(aggregate[name]) == ["mean", "std", "min", "max"], (task, name)
            assert all(type(v) is float for v in aggregate[name].values()), (task, name)
            assert aggregate[name]["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert aggregate[name]["std"] == pytest.approx(np.std(values), abs=1e-12)
            assert aggregate[name]["min"] == pytest.approx(min(values), abs=1e-12)
            assert aggregate[name]["max"] == pytest.approx(max(values), abs=1e-12)
        assert aggregate["primary"] == aggregate[entry["primary_metric"]], task
    assert results["C2"]["direction_concordance"] == {
        "direction_concordance": 244 / 380,
        "n_valid": 380,
        "n_concordant": 244,
    }


def test_per_split_values_are_the_scores_airlock_computed_before(scored: dict[str, Any]) -> None:
    """The same numbers the old `tasks.<id>.per_fold` held (the scoring did not change)."""
    results = scored["document"]["results"]
    for task, folds in scored["expected"].items():
        for number, reference in enumerate(folds):
            split = results[task]["per_split"][number]
            for metric, value in reference.items():
                assert split[metric] == pytest.approx(value, abs=1e-12), (task, number, metric)
        if task in PUBLISHED_LOGREG:
            primary = results[task]["primary_metric"]
            got = [round(s[primary], 4) for s in results[task]["per_split"]]
            assert got == pytest.approx(PUBLISHED_LOGREG[task], abs=1.5e-4), task
    # F3's three R+ folds hold humans only: AUROC undefined (the harness's NaN, here null),
    # AP 1.0; the mean leaves them out.
    f3 = results["F3"]["per_split"]
    assert [s["auroc"] is None for s in f3] == [False] * 4 + [True] * 3
    assert [s["auprc"] for s in f3[4:]] == pytest.approx([1.0, 1.0, 1.0], abs=1e-12)
    # B2: "prostate cancer" has no positive in reps 0, 2 and 4
    assert [
        s["per_label_auroc"]["prostate cancer"] is None for s in results["B2"]["per_split"]
    ] == [
        True,
        False,
        True,
        False,
        True,
    ]


def test_airlock_section_holds_what_the_harness_does_not_write(scored: dict[str, Any]) -> None:
    document = scored["document"]
    airlock = document["airlock"]
    assert list(airlock) == [
        "runner_version",
        "benchmark_version",
        "source",
        "tasks",
        "skipped",
        "summary",
    ]
    assert airlock["benchmark_version"] == "spaceomicsbench-v2.1"
    assert list(airlock["tasks"]) == ["A1", "B2", "C2", "F3", "I2", "E2"]
    assert airlock["skipped"] == {"B1": "source file missing: cfrna_3group_de_noleak.csv"}
    f3 = airlock["tasks"]["F3"]
    assert f3["task_type"] == "binary" and f3["split"] == "loto_microbiome"
    assert [f["fold"] for f in f3["per_fold"]] == [
        "FD2",
        "FD3",
        "L-44",
        "L-92",
        "R+1",
        "R+45",
        "R+82",
    ]
    assert [sorted(f["undefined"]) for f in f3["per_fold"]] == [[]] * 4 + [["auroc"]] * 3
    assert f3["n_folds_per_metric"]["auroc"] == 4
    assert f3["n_folds_per_metric"]["auprc"] == 7
    assert "human-first" in f3["warnings"][0]
    assert [f["fold"] for f in airlock["tasks"]["A1"]["per_fold"]] == [
        "C001",
        "C002",
        "C003",
        "C004",
    ]
    summary = airlock["summary"]
    assert set(summary) == {
        "normalized",
        "categories",
        "composite",
        "n_categories",
        "excluded_from_composite",
    }
    assert "E_spatial" not in summary["categories"]  # E2 is scored but not in the composite
    assert "E2" in summary["normalized"]
    assert summary["excluded_from_composite"] == ["E2", "E3"]
    a1_mean = document["results"]["A1"]["aggregate"]["primary"]["mean"]
    assert summary["normalized"]["A1"] == pytest.approx((round(a1_mean, 4) - 0.2143) / (1 - 0.2143))
    # nothing of Airlock's leaks into the harness's keys
    for entry in document["results"].values():
        assert not {"per_fold", "warnings", "undefined", "n_folds", "fold"} & set(entry)


def _outside_tool(text: str) -> list[tuple[str, str, str, float, float, int]]:
    """A reader written from the harness's definition alone: it knows `results`, `error`,
    `task_name`, `n_samples`, `primary_metric`, `per_split` (with `split_info`) and
    `aggregate.primary`, and nothing of Airlock's section."""
    document = json.loads(text, parse_constant=_no_nan)
    rows = []
    for task_id, result in document["results"].items():
        if "error" in result:
            continue
        primary = result["primary_metric"]
        splits = result["per_split"]
        defined = [s[primary] for s in splits if s.get(primary) is not None]
        assert result["aggregate"]["primary"]["mean"] == pytest.approx(np.mean(defined))
        for split in splits:
            info = split["split_info"]
            assert info["train_size"] + info["test_size"] == result["n_samples"], task_id
        if splits[0]["split_info"]["split_type"] in ("loco", "loto"):  # partitions of the rows
            assert sum(s["split_info"]["test_size"] for s in splits) == result["n_samples"]
        rows.append(
            (
                task_id,
                result["task_name"],
                primary,
                result["aggregate"]["primary"]["mean"],
                result["aggregate"]["primary"]["std"],
                len(splits),
            )
        )
    return rows


def test_a_tool_written_from_the_harness_reads_the_output(scored: dict[str, Any]) -> None:
    document = dict(scored["document"])
    text = json.dumps(document)
    rows = _outside_tool(text)
    assert [r[0] for r in rows] == ["A1", "B2", "C2", "F3", "I2", "E2"]
    assert rows[0][1:3] == ("Flight Phase Classification (Blood Panel)", "macro_f1")
    assert rows[0][3] == pytest.approx(np.mean(PUBLISHED_LOGREG["A1"]), abs=1.5e-4)
    assert [r[5] for r in rows] == [4, 5, 5, 7, 5, 5]
    # the same reading with Airlock's section removed: it needs nothing from it
    del document["airlock"]
    assert _outside_tool(json.dumps(document)) == rows
