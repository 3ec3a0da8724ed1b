"""Logistic regression baseline: mean imputation, standard scaling and a class-weighted L2
logistic regression, all fitted on the training fold only (one model per label for
multilabel tasks)."""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from airlock_sdk import serve


def _pipeline():
    return make_pipeline(
        SimpleImputer(strategy="mean", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000, random_state=42),
    )


class LogReg:
    def fit(self, X, y, meta, task):
        if task.task_type == "multilabel":
            # One model per label; a label constant in this training fold gets a constant.
            self.models = {}
            for label in task.labels:
                column = y[label].to_numpy()
                self.models[label] = (
                    float(column[0]) if len(set(column)) < 2 else _pipeline().fit(X, column)
                )
        else:
            self.model = _pipeline().fit(X, y)

    def predict(self, X, meta, task):
        if task.task_type == "multilabel":
            columns = [
                np.full(len(X), model) if isinstance(model, float) else model.predict_proba(X)[:, 1]
                for model in self.models.values()
            ]
            return np.column_stack(columns)
        proba = self.model.predict_proba(X)
        order = [
            list(self.model.classes_).index(c) if c in self.model.classes_ else None
            for c in task.classes
        ]
        # Classes absent from this training fold get probability 0.
        return np.column_stack([proba[:, k] if k is not None else np.zeros(len(X)) for k in order])


if __name__ == "__main__":
    serve(LogReg(), name="logreg")
