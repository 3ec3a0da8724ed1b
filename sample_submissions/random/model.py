"""Random baseline: labels drawn with the training class frequencies, scores uniform.

The chance level every real submission must beat."""

from __future__ import annotations

import numpy as np

from airlock_sdk import serve


class Random:
    def fit(self, X, y, meta, task):
        self.rng = np.random.default_rng(42)
        if task.task_type == "multilabel":
            self.prevalence = y.mean(axis=0).to_numpy()
        else:
            counts = y.value_counts()
            self.frequency = np.array([counts.get(c, 0) for c in task.classes], dtype=float) / len(
                y
            )

    def predict(self, X, meta, task):
        n = len(X)
        if task.task_type == "multilabel":
            labels = (self.rng.random((n, len(task.labels))) < self.prevalence).astype(int)
            return {"labels": labels, "proba": self.rng.random((n, len(task.labels)))}
        labels = self.rng.choice(task.classes, size=n, p=self.frequency)
        if task.task_type == "binary":
            return {"labels": labels, "proba": self.rng.random(n)}
        return {"labels": labels}


if __name__ == "__main__":
    serve(Random(), name="random")
