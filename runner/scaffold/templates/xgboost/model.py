"""{{name}}: an Airlock submission (gradient-boosted trees with XGBoost).

The runner starts this file once per fold, with no network and the fold's training data
mounted read-only. The SDK (`airlock_sdk.serve`) speaks the protocol for you: implement
`fit` and `predict`, log with print() or logging (it all goes to stderr), and do not write
to stdout yourself. Change anything below; keep the two method signatures.
"""

from __future__ import annotations

import os

import numpy as np
import xgboost

from airlock_sdk import serve

# The runner sets OMP_NUM_THREADS to the fold's CPU limit: use exactly that many threads.
THREADS = int(os.environ.get("OMP_NUM_THREADS", "1"))


def new_booster(n_classes):
    """Small trees and few rounds: omics folds have few samples and many features."""
    return xgboost.XGBClassifier(
        n_estimators=200,
        max_depth=3,
        learning_rate=0.05,
        subsample=0.8,
        colsample_bytree=0.3,
        n_jobs=THREADS,
        tree_method="hist",
        objective="binary:logistic" if n_classes == 2 else "multi:softprob",
    )


class Model:
    def fit(self, X, y, meta, task):
        """Train on one fold.

        X     pandas DataFrame, one row per training sample (index: sample id), float
              features in `task.feature_names` order, NaN where a value is missing
              (XGBoost handles NaN itself).
        y     binary/multiclass: a Series of class names (`task.classes`);
              multilabel: a DataFrame of 0/1 with one column per label (`task.labels`).
        meta  DataFrame of text columns (`task.meta_columns`, e.g. mission or crew).
        task  task_type, classes, positive_class, labels, feature_names, fold_id, ...
        """
        columns = y if task.task_type == "multilabel" else y.to_frame()
        features = X.to_numpy(dtype=np.float32)
        # One booster per output column. XGBoost wants classes numbered 0..k-1, so each
        # column's values seen in this fold are numbered; a single value is kept as a constant.
        self.models = []
        for name in columns.columns:
            seen, codes = np.unique(columns[name].to_numpy(), return_inverse=True)
            if len(seen) < 2:
                self.models.append((list(seen), None))
            else:
                self.models.append((list(seen), new_booster(len(seen)).fit(features, codes)))

    def predict(self, X, meta, task):
        """Probabilities: binary, of `task.positive_class`; multiclass, one column per class
        in `task.classes` order; multilabel, one column per label in `task.labels` order."""
        features = X.to_numpy(dtype=np.float32)
        if task.task_type == "multilabel":
            return np.column_stack([self._table(m, features, [0, 1])[:, 1] for m in self.models])
        table = self._table(self.models[0], features, task.classes)
        if task.task_type == "binary":
            return table[:, task.classes.index(task.positive_class)]
        return table

    @staticmethod
    def _table(entry, features, outputs):
        """Probabilities per output (columns in `outputs` order; unseen outputs get 0)."""
        seen, booster = entry
        table = np.zeros((len(features), len(outputs)))
        if booster is None:
            table[:, outputs.index(seen[0])] = 1.0
            return table
        proba = booster.predict_proba(features)
        for column, value in enumerate(seen):
            table[:, outputs.index(value)] = proba[:, column]
        return table


if __name__ == "__main__":
    serve(Model(), name="{{name}}")
