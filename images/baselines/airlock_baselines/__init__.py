"""The published baseline models of SpaceOmicsBench and GeneLab, for any Airlock bundle.

``serve(Baseline("logreg"))`` runs the benchmarks' reference pipeline, fitted on the
training fold only: mean imputation, the task's PCA where the benchmark uses one
(SpaceOmicsBench C1: 10 components on the whole matrix; G1: 8 per omics block; GeneLab
PCA-LR: min(50, n_train - 1, n_features)), standard scaling, then the model with the
published hyperparameters (seed 42). Multilabel tasks use one model per label.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

SEED = 42
KINDS = ("logreg", "rf", "mlp", "xgboost", "pca-lr")


def _logreg() -> Any:
    return LogisticRegression(
        C=1.0, class_weight="balanced", max_iter=1000, solver="lbfgs", random_state=SEED
    )


def model_for(kind: str, task_type: str) -> Any:
    """The estimator with the published hyperparameters (spec section 0.3)."""
    if task_type == "multilabel":
        inner = {
            "logreg": lambda: LogisticRegression(
                C=1.0, class_weight="balanced", max_iter=1000, random_state=SEED
            ),
            "rf": lambda: RandomForestClassifier(
                n_estimators=100, class_weight="balanced", random_state=SEED, n_jobs=-1
            ),
            "mlp": lambda: MLPClassifier(
                hidden_layer_sizes=(128, 64),
                max_iter=300,
                early_stopping=True,
                alpha=0.01,
                random_state=SEED,
            ),
        }.get(kind, _logreg)
        return OneVsRestClassifier(inner())
    if kind in ("logreg", "pca-lr"):
        return _logreg()
    if kind == "rf":
        return RandomForestClassifier(
            n_estimators=100, class_weight="balanced", random_state=SEED, n_jobs=-1
        )
    if kind == "mlp":
        return MLPClassifier(
            hidden_layer_sizes=(256, 128, 64),
            max_iter=500,
            early_stopping=True,
            validation_fraction=0.15,
            alpha=0.01,
            learning_rate_init=0.001,
            random_state=SEED,
        )
    if kind == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(
            n_estimators=100, max_depth=6, eval_metric="logloss", verbosity=0, random_state=SEED
        )
    raise ValueError(f"unknown baseline {kind!r}; choose from {KINDS}")


def preprocessing(kind: str, task: Any, columns: list[str], n_train: int) -> list[tuple[str, Any]]:
    """Imputation, the benchmark's PCA if any, scaling: all fitted on the training fold."""
    benchmark = task.benchmark or {}
    task_id = benchmark.get("task_id", "")
    steps: list[tuple[str, Any]] = []
    if kind == "pca-lr":  # GeneLab: standardise -> PCA -> logistic regression
        components = min(50, n_train - 1, len(columns))
        return [
            ("scale_in", StandardScaler()),
            ("pca", PCA(n_components=components, random_state=SEED)),
        ]
    steps.append(("impute", SimpleImputer(strategy="mean")))
    if benchmark.get("suite") == "spaceomicsbench" and task_id == "C1":
        steps.append(("pca", PCA(n_components=min(10, n_train - 1), random_state=SEED)))
    elif benchmark.get("suite") == "spaceomicsbench" and task_id == "G1":
        blocks = []
        for prefix in ("clin:", "prot:", "met:"):
            index = [i for i, c in enumerate(columns) if c.startswith(prefix)]
            transform = (
                "passthrough"
                if prefix == "clin:"
                else PCA(n_components=min(8, n_train - 1), random_state=SEED)
            )
            blocks.append((prefix.rstrip(":"), transform, index))
        steps.append(("blocks", ColumnTransformer(blocks)))
    steps.append(("scale", StandardScaler()))
    return steps


class Baseline:
    """A published baseline as an Airlock model (see the module docstring)."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown baseline {kind!r}; choose from {KINDS}")
        self.kind = kind

    def fit(self, X: pd.DataFrame, y: Any, meta: pd.DataFrame, task: Any) -> None:
        columns = list(X.columns)
        steps = preprocessing(self.kind, task, columns, len(X))
        estimator = model_for(self.kind, task.task_type)
        self.pipeline = (
            Pipeline([*steps, ("model", estimator)]) if steps else make_pipeline(estimator)
        )
        if task.task_type == "multilabel":
            self.pipeline.fit(X.to_numpy(dtype=float), y[task.labels].to_numpy(dtype=int))
            return
        # Class names map to integers in alphabetical order, as the benchmarks' LabelEncoder.
        self.encoder = LabelEncoder().fit(y.astype(str))
        self.pipeline.fit(X.to_numpy(dtype=float), self.encoder.transform(y.astype(str)))

    def predict(self, X: pd.DataFrame, meta: pd.DataFrame, task: Any) -> dict[str, Any]:
        values = X.to_numpy(dtype=float)
        if task.task_type == "multilabel":
            return {
                "labels": np.asarray(self.pipeline.predict(values), dtype=int),
                "proba": np.asarray(self.pipeline.predict_proba(values), dtype=float),
            }
        proba = self.pipeline.predict_proba(values)
        names = self.encoder.inverse_transform(
            self.pipeline.classes_
            if hasattr(self.pipeline, "classes_")
            else np.arange(proba.shape[1])
        )
        frame = pd.DataFrame(proba, columns=[str(n) for n in names], index=X.index)
        for missing in set(task.classes) - set(
            frame.columns
        ):  # class absent from this training fold
            frame[missing] = 0.0
        labels = self.encoder.inverse_transform(
            np.asarray(self.pipeline.predict(values), dtype=int)
        )
        return {"labels": np.asarray(labels, dtype=object), "proba": frame[task.classes]}
