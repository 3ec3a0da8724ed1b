"""Summarising fold results (pure)."""

from __future__ import annotations

import numpy as np

from runner.results.model import Aggregate, FoldResult
from runner.verdict import Status


def aggregate(folds: list[FoldResult], metric: str) -> Aggregate:
    """Mean and population sd of ``metric`` over ok folds where it is defined."""
    failed = [f.fold_id for f in folds if f.status is not Status.OK]
    ok = [f for f in folds if f.status is Status.OK]
    undefined = [f.fold_id for f in ok if f.metrics.get(metric) is None]
    values = [v for f in ok if (v := f.metrics.get(metric)) is not None]
    return Aggregate(
        metric=metric,
        mean=float(np.mean(values)) if values else None,
        sd=float(np.std(values)) if values else None,
        n_folds=len(folds),
        n_scored=len(values),
        failed_folds=failed,
        undefined_folds=undefined,
        complete=not failed and not undefined and bool(folds),
    )
