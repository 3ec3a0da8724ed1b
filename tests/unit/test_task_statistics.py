"""The container track's per-task statistics use the same functions as `airlock score`."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from runner.bundle.spec import BundleSpec
from runner.results.model import FoldResources, FoldResult
from runner.results.statistics import fold_statistics, task_statistics
from runner.scoring import genelab
from runner.verdict import Status


def _spec(**benchmark: object) -> BundleSpec:
    raw: dict[str, object] = {
        "id": "t", "title": "t", "task_type": "binary", "classes": ["ground", "flight"],
        "positive_class": "flight", "metrics": {"primary": "auroc", "secondary": ["auprc"]},
        "split": {"kind": "leave-one-group-out"}, "folds": ["a", "b", "c"],
    }  # fmt: skip
    if benchmark:
        raw["benchmark"] = benchmark
    return BundleSpec.model_validate(raw)


def _folds() -> tuple[list[FoldResult], list[tuple[np.ndarray, np.ndarray] | None]]:
    rng = np.random.default_rng(3)
    now = datetime.now(UTC)
    folds, scored = [], []
    for name in ("a", "b"):
        truth = np.r_[np.ones(8), np.zeros(8)].astype(np.int8)
        score = np.clip(truth * 0.4 + rng.random(16) * 0.6, 0, 1)
        pair = (truth, score)
        folds.append(
            FoldResult(
                fold_id=name,
                status=Status.OK,
                n_test=16,
                metrics={"auroc": genelab.auroc(truth, score), "auprc": 0.8},
                statistics=fold_statistics(pair),
                resources=FoldResources(phases={}, wall_seconds=1),
                started_at=now,
                finished_at=now,
            )
        )
        scored.append(pair)
    folds.append(
        FoldResult(
            fold_id="c",
            status=Status.TIMEOUT,
            n_test=16,
            resources=FoldResources(phases={}, wall_seconds=1),
            started_at=now,
            finished_at=now,
        )
    )
    scored.append(None)
    return folds, scored


def test_fold_statistics_are_the_genelab_unit_statistics() -> None:
    folds, scored = _folds()
    truth, score = scored[0]  # type: ignore[misc]
    unit = genelab.unit_stats("a", truth.astype(float), score, 2000, 1000)
    stats = folds[0].statistics
    assert stats is not None
    assert (stats.auroc_ci_lower, stats.auroc_ci_upper, stats.perm_p) == (
        unit.ci_lower,
        unit.ci_upper,
        unit.perm_p,
    )


def test_task_statistics_summarise_ok_folds_only() -> None:
    folds, scored = _folds()
    stats = task_statistics(_spec(), folds, scored)
    aurocs = [f.metrics["auroc"] for f in folds[:2]]
    assert stats.metrics["auroc"].mean == pytest.approx(np.mean(aurocs))
    assert stats.metrics["auroc"].n_folds == 2
    assert stats.genelab is not None
    assert stats.genelab.mean_auroc == pytest.approx(np.mean(aurocs))
    assert stats.genelab.go_nogo is None  # not a GeneLab bundle: no verdict
    assert stats.normalized_score is None


def test_genelab_and_spaceomicsbench_bundles_get_their_own_figures() -> None:
    folds, scored = _folds()
    category_a = task_statistics(_spec(suite="genelab", task_id="A4"), folds, scored)
    assert category_a.genelab is not None
    assert isinstance(category_a.genelab.go_nogo, bool)
    category_b = task_statistics(_spec(suite="genelab", task_id="B4"), folds, scored)
    assert category_b.genelab is not None
    assert category_b.genelab.go_nogo is None
    assert category_b.genelab.transfer_pattern is not None
    assert category_b.genelab.transfer_pattern["n_pairs"] == 2
    sob = task_statistics(
        _spec(suite="spaceomicsbench", task_id="C2", random_reference=0.5286), folds, scored
    )
    assert sob.genelab is None  # SpaceOmicsBench defines no per-fold CI or p-value
    mean = sob.metrics["auroc"].mean
    assert sob.normalized_score == pytest.approx(max(0.0, (round(mean, 4) - 0.5286) / (1 - 0.5286)))
