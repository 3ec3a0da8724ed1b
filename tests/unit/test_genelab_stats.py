"""GeneLab statistics: the batched engine against the upstream per-replicate reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from runner.scoring import genelab
from runner.scoring.batched import RankedScores, auroc_of_labelings, auroc_of_resamples


def upstream_unit(
    labels: np.ndarray, scores: np.ndarray, n_boot: int, n_perm: int
) -> tuple[float, float, float, float]:
    """The upstream evaluator's loops, written out: one draw and one sklearn call per replicate."""
    observed = roc_auc_score(labels, scores)
    rng = np.random.default_rng(42)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(labels), len(labels))
        if len(np.unique(labels[idx])) < 2:
            continue
        boots.append(roc_auc_score(labels[idx], scores[idx]))
    lower, upper = (
        (np.percentile(boots, 2.5), np.percentile(boots, 97.5)) if boots else (math.nan, math.nan)
    )
    rng = np.random.default_rng(42)
    null = [roc_auc_score(rng.permutation(labels), scores) for _ in range(n_perm)]
    p = (np.sum(np.array(null) >= observed) + 1) / (n_perm + 1)
    return observed, float(lower), float(upper), float(p)


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 35, 103])
def test_one_call_draws_equal_per_replicate_draws(n: int) -> None:
    """Pins numpy behaviour the batched engine relies on (PCG64 keeps the spare half-word)."""
    rng = np.random.default_rng(42)
    per_call = np.stack([rng.integers(0, n, n) for _ in range(300)])
    assert np.array_equal(np.random.default_rng(42).integers(0, n, (300, n)), per_call)
    labels = (np.arange(n) % 3 == 0).astype(float)
    rng = np.random.default_rng(42)
    per_call_perm = np.stack([rng.permutation(labels) for _ in range(300)])
    batched_perm = np.random.default_rng(42).permuted(np.tile(labels, (300, 1)), axis=1)
    assert np.array_equal(batched_perm, per_call_perm)


tied_scores = st.lists(
    st.sampled_from([0.0, 0.1, 0.3, 0.3, 0.5, 0.7, 0.9, 1.0]), min_size=2, max_size=30
)


@settings(max_examples=300)
@given(data=st.data())
def test_trapezoid_auroc_is_bitwise_sklearn(data: st.DataObject) -> None:
    scores = np.array(data.draw(tied_scores))
    labels = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=len(scores), max_size=len(scores)))
    )
    if labels.min() == labels.max():
        assert genelab.auroc(labels, scores) is None
        return
    assert genelab.auroc(labels, scores) == roc_auc_score(labels, scores)


@settings(max_examples=100)
@given(data=st.data())
def test_batched_auroc_matches_sklearn_per_replicate(data: st.DataObject) -> None:
    scores = np.array(data.draw(tied_scores))
    n = len(scores)
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))).astype(float)
    draws = np.random.default_rng(data.draw(st.integers(0, 1000))).integers(0, n, (20, n))
    batched = auroc_of_resamples(labels, RankedScores.of(scores), draws)
    for row, value in zip(draws, batched, strict=True):
        if len(np.unique(labels[row])) < 2:
            assert math.isnan(value)
        else:
            assert value == pytest.approx(roc_auc_score(labels[row], scores[row]), abs=1e-15)
    same = auroc_of_labelings(np.tile(labels, (2, 1)), RankedScores.of(scores))
    assert (
        np.isnan(same).all()
        if labels.min() == labels.max()
        else np.allclose(same, roc_auc_score(labels, scores))
    )


@settings(max_examples=12, deadline=None)
@given(
    n_flight=st.integers(1, 12),
    n_ground=st.integers(1, 12),
    seed=st.integers(0, 10_000),
    levels=st.sampled_from([3, 5, 50]),
)
def test_unit_statistics_equal_the_upstream_loops(
    n_flight: int, n_ground: int, seed: int, levels: int
) -> None:
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n_flight), np.zeros(n_ground)]
    rng.shuffle(labels)
    scores = rng.integers(0, levels, labels.size) / levels  # coarse levels: many ties
    stats = genelab.unit_stats("u", labels, scores, 200, 150)
    observed, lower, upper, p = upstream_unit(labels, scores, 200, 150)
    assert stats.auroc == observed
    assert stats.perm_p == p
    if math.isnan(lower):
        assert stats.ci_lower is not None and math.isnan(stats.ci_lower)
    else:
        assert stats.ci_lower == pytest.approx(lower, abs=1e-12)
        assert stats.ci_upper == pytest.approx(upper, abs=1e-12)


def test_degenerate_units_are_explicit() -> None:
    single = genelab.unit_stats("u", np.ones(5), np.linspace(0, 1, 5), 100, 100)
    assert single.auroc is None
    assert single.error == "Only one class in test set"
    constant = genelab.unit_stats("c", np.array([1, 0, 1, 0.0]), np.full(4, 0.5), 100, 100)
    assert constant.auroc == 0.5
    assert constant.perm_p == 1.0
    inverted = genelab.unit_stats(
        "i", np.array([1, 1, 0, 0.0]), np.array([0.1, 0.2, 0.8, 0.9]), 100, 100
    )
    assert inverted.auroc == 0.0
    assert inverted.perm_p == 1.0
    no_replicates = genelab.unit_stats("z", np.array([1, 0.0]), np.array([0.9, 0.1]), 0, 0)
    assert no_replicates.perm_p == 1.0
    assert no_replicates.ci_lower is not None and math.isnan(no_replicates.ci_lower)


def test_summary_excludes_single_class_units_and_applies_the_strict_go_rule() -> None:
    good = genelab.UnitStats("a", 10, 5, 5, 0.9, 0.6, 1.0, 0.01)
    single = genelab.UnitStats("b", 4, 4, 0, None, None, None, None, 0, genelab.SINGLE_CLASS)
    labels = np.r_[np.ones(5), np.zeros(5), np.ones(4)]
    scores = np.r_[np.linspace(0.6, 1, 5), np.linspace(0, 0.4, 5), np.full(4, 0.5)]
    summary = genelab.summarize([good, single], labels, scores, 200)
    assert summary.excluded == ["b"]
    assert summary.n_scored == 1
    assert summary.go_nogo is True
    borderline = genelab.UnitStats("c", 10, 5, 5, 0.7, 0.6, 1.0, 0.01)  # AUROC must be > 0.70
    assert genelab.summarize([borderline], labels[:10], scores[:10], 50).go_nogo is False
    nothing = genelab.summarize([single], np.ones(4), np.full(4, 0.5), 50)
    assert (nothing.mean_auroc, nothing.go_nogo) == (None, False)


def test_transfer_pattern_counts_pairs() -> None:
    units = [
        genelab.UnitStats("p1", 30, 15, 15, 0.8, 0.6, 0.9, 0.01),
        genelab.UnitStats("p2", 6, 3, 3, 0.95, 0.7, 1.0, 0.06),
        genelab.UnitStats("p3", 12, 6, 6, 0.7, 0.4, 0.9, 0.2),
        genelab.UnitStats("p4", 12, 12, 0, None, None, None, None, 0, genelab.SINGLE_CLASS),
    ]
    pattern = genelab.transfer_pattern(units)
    assert pattern["n_auroc_ge_0_70"] == 3  # >= is inclusive
    assert pattern["n_p_lt_0_05"] == 1
    assert pattern["n_large_pairs"] == 2
    assert pattern["large_pairs_mean_auroc"] == pytest.approx(0.75)
    assert pattern["n_large_pairs_p_lt_0_05"] == 1


def test_statistics_of_a_large_fold_stay_small_and_equal_to_the_unchunked_ones() -> None:
    """All 2,000 replicates at once took 1.2 GB for 10,000 test rows (a sample bundle's fold
    has 1,000): chunks keep the runner small, and give the very same numbers."""
    import resource
    import subprocess
    import sys

    from runner.scoring import genelab

    rng = np.random.default_rng(7)
    labels = (rng.random(400) < 0.3).astype(np.float64)
    scores = rng.random(400)
    chunked = genelab.unit_stats("u", labels, scores, 2000, 1000)
    old = genelab.CHUNK_ELEMENTS
    try:
        genelab.CHUNK_ELEMENTS = 1 << 40  # one chunk: the former, unchunked computation
        whole = genelab.unit_stats("u", labels, scores, 2000, 1000)
    finally:
        genelab.CHUNK_ELEMENTS = old
    assert chunked == whole
    code = (
        "import numpy as np; from runner.scoring import genelab\n"
        "rng = np.random.default_rng(1); n = 10_000\n"
        "genelab.unit_stats('u', (rng.random(n) < 0.5).astype(float), rng.random(n), 2000, 1000)\n"
        # VmHWM is this process's own peak: ru_maxrss can carry the parent's across exec
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n"
    )
    peak_kib = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout)  # fmt: skip
    assert peak_kib < 300 * 1024, f"{peak_kib / 1024:.0f} MiB"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
