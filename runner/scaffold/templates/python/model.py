"""{{name}}: an Airlock submission (scikit-learn logistic regression).

The runner starts this file once per fold, with no network and the fold's training data
mounted read-only. The SDK (`airlock_sdk.serve`) speaks the protocol for you: implement
`fit` and `predict`, log with print() or logging (it all goes to stderr), and do not write
to stdout yourself. Change anything below; keep the two method signatures.
"""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from airlock_sdk import serve


def new_classifier():
    """One classifier; `fit` trains one per task (or one per label for multilabel tasks)."""
    return make_pipeline(
        SimpleImputer(strategy="median"),  # missing values arrive as NaN
        StandardScaler(),
        LogisticRegression(max_iter=2000, class_weight="balanced"),
    )


class Model:
    def fit(self, X, y, meta, task):
        """Train on one fold.

        X     pandas DataFrame, one row per training sample (index: sample id), float
              features in `task.feature_names` order, NaN where a value is missing.
        y     binary/multiclass: a Series of class names (`task.classes`);
              multilabel: a DataFrame of 0/1 with one column per label (`task.labels`).
        meta  DataFrame of text columns (`task.meta_columns`, e.g. mission or crew); handy
              for grouping or stratifying, not used as features here.
        task  what the runner said about the task: task_type, classes, positive_class,
              labels, feature_names, bundle_id, fold_id, n_train, n_test.
        """
        columns = y if task.task_type == "multilabel" else y.to_frame()
        # One model per output column; a column with a single value in this fold (it
        # happens with small leave-one-out folds) is remembered as a constant instead.
        self.models = []
        for name in columns.columns:
            target = columns[name].to_numpy()
            if len(np.unique(target)) < 2:
                self.models.append(("constant", target[0]))
            else:
                self.models.append(("model", new_classifier().fit(X.to_numpy(), target)))

    def predict(self, X, meta, task):
        """Probabilities for the test rows, one row per row of X.

        binary: the probability of `task.positive_class`; multiclass: one column per class
        in `task.classes` order; multilabel: one column per label in `task.labels` order.
        """
        features = X.to_numpy()
        if task.task_type == "multilabel":
            return np.column_stack([self._positive(m, features, 1) for m in self.models])
        if task.task_type == "binary":
            return self._positive(self.models[0], features, task.positive_class)
        return self._class_table(self.models[0], features, task.classes)

    @staticmethod
    def _positive(entry, features, positive):
        kind, model = entry
        if kind == "constant":
            return np.full(len(features), float(model == positive))
        known = list(model.classes_)
        return model.predict_proba(features)[:, known.index(positive)]

    @staticmethod
    def _class_table(entry, features, classes):
        kind, model = entry
        table = np.zeros((len(features), len(classes)))
        if kind == "constant":
            table[:, classes.index(model)] = 1.0
            return table
        # Classes absent from this fold's training data get probability 0.
        proba = model.predict_proba(features)
        for column, name in enumerate(model.classes_):
            table[:, classes.index(name)] = proba[:, column]
        return table


if __name__ == "__main__":
    serve(Model(), name="{{name}}")
