"""Majority baseline: always the most frequent training class (or, per label, the most
frequent value) with a constant score."""

from __future__ import annotations

import numpy as np

from airlock_sdk import serve


class Majority:
    def fit(self, X, y, meta, task):
        if task.task_type == "multilabel":
            self.prevalence = y.mean(axis=0).to_numpy()
        else:
            self.label = y.value_counts().index[0]
            self.positive_share = (
                float(np.mean(y == task.positive_class)) if task.positive_class else None
            )

    def predict(self, X, meta, task):
        n = len(X)
        if task.task_type == "multilabel":
            return np.tile((self.prevalence > 0.5).astype(int), (n, 1))
        labels = np.full(n, self.label, dtype=object)
        if task.task_type == "binary":
            return {"labels": labels, "proba": np.full(n, self.positive_share)}
        return {"labels": labels}


if __name__ == "__main__":
    serve(Majority(), name="majority")
