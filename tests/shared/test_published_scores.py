"""The benchmarks' own published numbers, reproduced from ../shared.

GeneLab: every committed evaluator output is reproduced by `airlock score genelab` to 1e-12
(A5, A6, B4, B5, B6 with the default replicates; A2, A4, B2 with the counts the spec records).
SpaceOmicsBench: logistic-regression and random predictions built here are scored by
`airlock score spaceomicsbench`, and every per-split and aggregate number equals an
independent scikit-learn computation on labels this test builds itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from runner.cli import app

pytestmark = pytest.mark.shared_data

GENELAB = [
    # (submission, evaluator output, --n-bootstrap, --n-perm, --n-bootstrap-pooled)
    ("PCALR_baseline_A5", "PCA-LR_baseline_v1_A5", 2000, 1000, None),
    ("PCALR_baseline_A6", "PCA-LR_baseline_v1_A6", 2000, 1000, None),
    ("PCALR_baseline_B4", "PCA-LR_baseline_v1_B4", 2000, 1000, None),
    ("PCALR_baseline_B5", "PCA-LR_baseline_v1_B5", 2000, 1000, None),
    ("PCALR_baseline_B6", "PCA-LR_baseline_v1_B6", 2000, 1000, None),
    ("LR_baseline_A2", "LR-ElasticNet_baseline_v1_A2", 200, 200, 2000),
    ("PCALR_baseline_A4", "PCA-LR_baseline_v1_A4", 200, 200, 2000),
    ("PCALR_baseline_B2", "PCA-LR_baseline_v1_B2", 2000, 500, None),
]


def _close(mine: Any, theirs: Any, where: str) -> None:
    if isinstance(theirs, bool) or theirs is None or isinstance(theirs, str):
        assert mine == theirs, where
    else:
        assert mine == pytest.approx(theirs, abs=1e-12), where


@pytest.mark.parametrize(
    ("submission", "reference", "n_boot", "n_perm", "pooled"), GENELAB, ids=[g[1] for g in GENELAB]
)
def test_genelab_evaluator_outputs_are_reproduced(
    genelab_dir: Path,
    tmp_path: Path,
    submission: str,
    reference: str,
    n_boot: int,
    n_perm: int,
    pooled: int | None,
) -> None:
    out = tmp_path / "result.json"
    args = [
        "score",
        "genelab",
        str(genelab_dir / "evaluation" / f"submission_{submission}.json"),
        "--tasks",
        str(genelab_dir / "tasks"),
        "--n-bootstrap",
        str(n_boot),
        "--n-perm",
        str(n_perm),
        "--output",
        str(out),
    ]
    if pooled is not None:
        args += ["--n-bootstrap-pooled", str(pooled)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    mine = json.loads(out.read_text())
    theirs = json.loads(
        (genelab_dir / "evaluation" / f"submission_{reference}_eval.json").read_text()
    )
    for key in (
        "task_id",
        "model_name",
        "model_description",
        "submission_date",
        "n_folds",
        "thresholds",
    ):
        assert mine[key] == theirs[key], key
    assert len(mine["fold_results"]) == len(theirs["fold_results"])
    for my_unit, their_unit in zip(mine["fold_results"], theirs["fold_results"], strict=True):
        for key, value in their_unit.items():
            _close(my_unit[key], value, f"{their_unit['fold']}.{key}")
    category_b = theirs["task_id"].startswith("B")
    for key, value in theirs["summary"].items():
        if key == "go_nogo" and category_b:
            assert mine["summary"]["go_nogo"] is None
            assert mine["airlock"]["upstream_go_nogo"] == value
        else:
            _close(mine["summary"][key], value, f"summary.{key}")


# ---- SpaceOmicsBench ---------------------------------------------------------------------------


def _processed(source: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(source / "data" / "processed" / name)


def _labels_and_features(
    source: Path, task: str
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """Labels (and features where the test trains a model) built from the spec, independently
    of Airlock's own task code."""
    if task == "A1":
        cbc, cmp = _processed(source, "clinical_cbc.csv"), _processed(source, "clinical_cmp.csv")
        meta = ["sample_id", "crew", "tissue", "timepoint", "timepoint_days", "phase", "mission"]
        x = pd.concat([cbc.drop(columns=meta), cmp.drop(columns=meta)], axis=1).to_numpy(
            dtype=float
        )
        return cbc["phase"].to_numpy(), x, ["pre_flight", "post_flight", "recovery"]
    if task == "C2":
        plasma = _processed(source, "proteomics_plasma_de_clean.csv").set_index("gene")
        evp = _processed(source, "proteomics_evp_de_clean.csv").set_index("gene")
        genes = sorted(set(plasma.index) & set(evp.index))
        x = plasma.loc[genes, ["logFC", "AveExpr", "t", "B"]].to_numpy(dtype=float)
        return (evp.loc[genes, "adj_pval"] < 0.05).astype(int).to_numpy(), x, None
    if task == "H1":
        table = _processed(source, "conserved_pbmc_to_skin.csv")
        features = ["CD4_T", "CD8_T", "other_T", "B", "NK", "CD14_Mono", "CD16_Mono", "DC", "other"]
        return table["skin_de"].astype(int).to_numpy(), table[features].to_numpy(dtype=float), None
    if task == "I2":
        table = _processed(source, "cross_mission_pathway_features.csv")
        return (
            table["label"].astype(int).to_numpy(),
            table.drop(columns=["pathway", "label"]).to_numpy(dtype=float),
            None,
        )
    if task == "E1":
        table = _processed(source, "gt_spatial_de_outer_epidermis.csv")
        return (table["adj_pval"].fillna(1.0) < 0.05).astype(int).to_numpy(), None, None
    if task == "D1":
        table = _processed(source, "metabolomics_spaceflight_response.csv")
        return table["is_spaceflight_de"].astype(str).eq("True").astype(int).to_numpy(), None, None
    if task == "B2":
        table = _processed(source, "gt_cfrna_cluster_labels.csv")
        return table.drop(columns=["gene"]).to_numpy(dtype=int), None, list(table.columns[1:])
    raise AssertionError(task)


PUBLISHED_LOGREG = {  # per-fold primary metric, spec section per task
    "A1": [0.2000, 0.8222, 0.8857, 0.2778],
    "C2": [0.4737, 0.4805, 0.5529, 0.5422, 0.4503],
    "H1": [0.1781, 0.1809, 0.1893, 0.1346, 0.1956],
    "I2": [0.5773, 0.5239, 0.5840, 0.6924, 0.5539],
}
SPLITS = {
    "A1": "loco_clinical",
    "C2": "feature_split_C2",
    "H1": "feature_split_H1",
    "I2": "feature_split_I2",
    "E1": "feature_split_E1",
    "D1": "feature_split_D1",
    "B2": "feature_split_B2",
}


def _sklearn_fold(
    task: str, y: np.ndarray, entry: dict[str, Any], classes: list[str] | None
) -> dict[str, float]:
    if task in ("A1",):
        pred = np.array(entry["y_pred"])
        return {
            "accuracy": sk.accuracy_score(y, pred),
            "macro_f1": sk.f1_score(y, pred, labels=classes, average="macro", zero_division=0),
            "weighted_f1": sk.f1_score(
                y, pred, labels=classes, average="weighted", zero_division=0
            ),
        }
    if task == "B2":
        pred = np.array(entry["y_pred"])
        return {
            "micro_f1": sk.f1_score(y, pred, average="micro", zero_division=0),
            "macro_f1": sk.f1_score(y, pred, average="macro", zero_division=0),
            "hamming_loss": sk.hamming_loss(y, pred),
        }
    score = np.array(entry["y_score"])
    return {
        "auroc": sk.roc_auc_score(y, score),
        "auprc": sk.average_precision_score(y, score),
        "f1": sk.f1_score(y, (score >= 0.5).astype(int), zero_division=0),
    }


def _logreg_entries(
    task: str, y: np.ndarray, x: np.ndarray, folds: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    entries = []
    for fold in folds:
        train, test = fold["train_indices"], fold["test_indices"]
        model = make_pipeline(
            SimpleImputer(strategy="mean"),
            StandardScaler(),
            LogisticRegression(
                C=1.0, class_weight="balanced", max_iter=1000, solver="lbfgs", random_state=42
            ),
        ).fit(x[train], y[train])
        if task == "A1":
            entries.append({"y_pred": model.predict(x[test]).tolist()})
        else:
            entries.append({"y_score": model.predict_proba(x[test])[:, 1].tolist()})
    return entries


def _random_entries(
    task: str, y: np.ndarray, folds: list[dict[str, Any]], classes: list[str] | None
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    entries = []
    for fold in folds:
        n = len(fold["test_indices"])
        if task == "A1":
            entries.append({"y_pred": rng.choice(classes or [], n).tolist()})
        elif task == "B2":
            entries.append({"y_pred": (rng.random((n, y.shape[1])) < 0.2).astype(int).tolist()})
        else:
            entries.append({"y_score": rng.random(n).round(3).tolist()})  # rounded: ties
    return entries


@pytest.mark.parametrize("kind", ["logreg", "random"])
def test_spaceomicsbench_scores_equal_an_independent_sklearn_computation(
    spaceomics_dir: Path, tmp_path: Path, kind: str
) -> None:
    tasks = (
        ["A1", "C2", "H1", "I2"] if kind == "logreg" else ["A1", "C2", "H1", "I2", "E1", "D1", "B2"]
    )
    predictions = tmp_path / kind
    predictions.mkdir()
    expected: dict[str, list[dict[str, float]]] = {}
    for task in tasks:
        y, x, classes = _labels_and_features(spaceomics_dir, task)
        folds = json.loads((spaceomics_dir / "splits" / f"{SPLITS[task]}.json").read_text())
        entries = (
            _logreg_entries(task, y, x, folds)
            if kind == "logreg"
            else _random_entries(task, y, folds, classes)
        )
        (predictions / f"{task}.json").write_text(json.dumps({"predictions": entries}))
        expected[task] = [
            _sklearn_fold(task, y[f["test_indices"]], e, classes)
            for f, e in zip(folds, entries, strict=True)
        ]
    out = tmp_path / f"{kind}.json"
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
    scored = json.loads(out.read_text())["results"]
    for task, folds in expected.items():
        for number, reference in enumerate(folds):
            for metric, value in reference.items():
                assert scored[task]["per_split"][number][metric] == pytest.approx(
                    value, abs=1e-12
                ), (task, number, metric)
        for metric in folds[0]:
            values = [f[metric] for f in folds]
            aggregate = scored[task]["aggregate"][metric]
            assert aggregate["mean"] == pytest.approx(np.mean(values), abs=1e-12)
            assert aggregate["std"] == pytest.approx(np.std(values), abs=1e-12)
            assert (aggregate["min"], aggregate["max"]) == pytest.approx(
                (min(values), max(values)), abs=1e-12
            )
        if kind == "logreg":
            primary = scored[task]["primary_metric"]
            got = [round(f[primary], 4) for f in scored[task]["per_split"]]
            assert got == pytest.approx(PUBLISHED_LOGREG[task], abs=1.5e-4), task


def test_absent_source_files_are_reported_not_faked(spaceomics_dir: Path, tmp_path: Path) -> None:
    predictions = tmp_path / "p"
    predictions.mkdir()
    (predictions / "B1.json").write_text(json.dumps({"predictions": []}))
    result = CliRunner().invoke(
        app, ["score", "spaceomicsbench", str(predictions), "--source", str(spaceomics_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "B1: source file missing: cfrna_3group_de_noleak.csv; not scored" in result.output
    document = json.loads(result.stdout)
    assert document["airlock"]["skipped"] == {
        "B1": "source file missing: cfrna_3group_de_noleak.csv"
    }
    assert document["results"] == {
        "B1": {"error": "source file missing: cfrna_3group_de_noleak.csv"}
    }
