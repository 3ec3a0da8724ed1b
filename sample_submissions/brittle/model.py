"""A deliberately brittle model: each output keys on one single feature.

For every class (binary: the task; multiclass: one model over all classes; multilabel: each
label) it picks the one training feature that separates the classes best (the largest
ANOVA F), remembers it by name, and fits a logistic regression on that feature alone; a
missing value becomes the feature's training mean. It can score well on clean data, but it
has nothing to fall back on when its feature goes missing or gets noisy: the negative
control of the robustness probes (`airlock run --probes`, docs/robustness.md).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression

from airlock_sdk import serve


class OneFeature:
    """A logistic regression on the single most separating feature (by name)."""

    def fit(self, X, target):
        with warnings.catch_warnings():  # constant features give F = NaN: never chosen
            warnings.simplefilter("ignore")
            filled = X.fillna(X.mean()).fillna(0.0)
            f_values, _ = f_classif(filled.to_numpy(), np.asarray(target))
        f_values = np.nan_to_num(f_values, nan=-1.0)
        self.feature = str(X.columns[int(np.argmax(f_values))])
        self.mean = float(filled[self.feature].mean())
        self.clf = LogisticRegression(max_iter=1000).fit(filled[[self.feature]], target)
        return self

    def proba(self, X):
        column = X[[self.feature]].fillna(self.mean)
        return self.clf.predict_proba(column.set_axis([self.feature], axis=1))


class Brittle:
    def fit(self, X, y, meta, task):
        if task.task_type == "multilabel":
            self.models = {}
            for label in task.labels:
                if y[label].nunique() > 1:
                    self.models[label] = OneFeature().fit(X, y[label].to_numpy())
            self.prevalence = y.mean(axis=0)
        else:
            self.model = OneFeature().fit(X, y.astype(str))

    def predict(self, X, meta, task):
        if task.task_type == "multilabel":
            columns = {}
            for label in task.labels:
                model = self.models.get(label)
                if model is None:  # one value in training: its share
                    columns[label] = np.full(len(X), float(self.prevalence[label]))
                else:
                    proba = model.proba(X)
                    columns[label] = proba[:, list(model.clf.classes_).index(1)]
            return pd.DataFrame(columns, index=X.index)
        proba = self.model.proba(X)
        frame = pd.DataFrame(proba, columns=[str(c) for c in self.model.clf.classes_])
        for missing in set(task.classes) - set(frame.columns):  # absent from this fold
            frame[missing] = 0.0
        return frame


if __name__ == "__main__":
    serve(Brittle(), name="brittle")
