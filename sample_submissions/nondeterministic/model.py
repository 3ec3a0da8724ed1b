"""Nearest centroids on a random half of the features, seeded by the clock.

Deliberately nondeterministic: every run draws another feature subset, so the same image on
the same fold gives other predictions and scores each time. It is what
`airlock reproduce RESULT --runs 3` reports as not deterministic; seed your own models."""

from __future__ import annotations

import time

import numpy as np

from airlock_sdk import serve


def _softmax(scores):
    scores = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


class Nondeterministic:
    def fit(self, X, y, meta, task):
        rng = np.random.default_rng(time.time_ns())  # the point: a new seed every run
        values = X.to_numpy(dtype=float)
        self.center = np.nanmean(values, axis=0)
        self.scale = np.nanstd(values, axis=0) + 1e-9
        keep = rng.random(values.shape[1]) < 0.5
        self.keep = keep if keep.any() else np.ones_like(keep)
        z = self._standard(X)
        if task.task_type == "multilabel":
            labels = y[task.labels].to_numpy(dtype=int)
            self.centroids = [
                (z[labels[:, i] == 0].mean(axis=0), z[labels[:, i] == 1].mean(axis=0))
                if 0 < labels[:, i].sum() < len(labels)
                else labels[:, i].mean()
                for i in range(len(task.labels))
            ]
        else:
            self.centroids = [
                z[(y == c).to_numpy()].mean(axis=0) if (y == c).any() else np.zeros(z.shape[1])
                for c in task.classes
            ]

    def _standard(self, X):
        z = (X.to_numpy(dtype=float) - self.center) / self.scale
        return np.nan_to_num(z)[:, self.keep]

    def predict(self, X, meta, task):
        z = self._standard(X)

        def distance(centroid):
            return ((z - centroid) ** 2).mean(axis=1)

        if task.task_type == "multilabel":
            columns = []
            for centroid in self.centroids:
                if isinstance(centroid, tuple):
                    negative, positive = centroid
                    columns.append(1 / (1 + np.exp(distance(positive) - distance(negative))))
                else:
                    columns.append(np.full(len(z), float(centroid)))
            return np.column_stack(columns)
        return _softmax(-np.column_stack([distance(c) for c in self.centroids]))


if __name__ == "__main__":
    serve(Nondeterministic(), name="nondeterministic")
