"""Metrics against scikit-learn's reference implementations, plus the degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from runner.scoring.metrics import (
    METRICS,
    Target,
    Undefined,
    auroc,
    average_precision,
    compute,
)
from runner.task_types import TaskType, check_metric_names

scores = st.lists(
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]), min_size=2, max_size=40
)


@settings(max_examples=200)
@given(data=st.data())
def test_auroc_and_ap_match_sklearn_including_ties(data: st.DataObject) -> None:
    score = np.array(data.draw(scores))
    truth = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=len(score), max_size=len(score)))
    )
    if len(set(truth.tolist())) < 2:
        with pytest.raises(Undefined):
            auroc(truth, score)
        return
    assert auroc(truth, score) == pytest.approx(sk.roc_auc_score(truth, score), abs=1e-12)
    assert average_precision(truth, score) == pytest.approx(
        sk.average_precision_score(truth, score), abs=1e-12
    )


@settings(max_examples=100, deadline=None)  # scikit-learn validates its input on every call
@given(data=st.data())
def test_classification_metrics_match_sklearn(data: st.DataObject) -> None:
    n = data.draw(st.integers(3, 40))
    truth = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    hard = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    got = compute(["accuracy", "macro_f1", "weighted_f1"], Target(truth, hard, None, 3)).values
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(truth, hard))
    assert got["macro_f1"] == pytest.approx(
        sk.f1_score(truth, hard, labels=[0, 1, 2], average="macro", zero_division=0)
    )
    assert got["weighted_f1"] == pytest.approx(
        sk.f1_score(truth, hard, labels=[0, 1, 2], average="weighted", zero_division=0)
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_multilabel_metrics_match_sklearn(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 30))
    flat = st.lists(st.integers(0, 1), min_size=n * 4, max_size=n * 4)
    truth = np.array(data.draw(flat)).reshape(n, 4)
    hard = np.array(data.draw(flat)).reshape(n, 4)
    got = compute(
        ["micro_f1", "macro_f1", "hamming_loss"], Target(truth, hard, hard.astype(float), 4)
    ).values
    assert got["micro_f1"] == pytest.approx(
        sk.f1_score(truth, hard, average="micro", zero_division=0)
    )
    assert got["macro_f1"] == pytest.approx(
        sk.f1_score(truth, hard, average="macro", zero_division=0)
    )
    assert got["hamming_loss"] == pytest.approx(sk.hamming_loss(truth, hard))


def test_degenerate_folds_are_explicit() -> None:
    constant = compute(["auroc"], Target(np.array([0, 1, 0, 1]), np.zeros(4), np.full(4, 0.3), 2))
    assert constant.values["auroc"] == 0.5
    single = compute(["auroc", "auprc"], Target(np.zeros(4, int), np.zeros(4), np.full(4, 0.3), 2))
    assert single.values == {"auroc": None, "auprc": None}
    assert single.notes["auroc"] == "only one class in the test fold"
    no_label = compute(
        ["mean_auroc"], Target(np.zeros((3, 2), int), np.zeros((3, 2)), np.zeros((3, 2)), 2)
    )
    assert no_label.values["mean_auroc"] is None


def test_metric_names_are_checked_per_task_type() -> None:
    check_metric_names(TaskType.MULTILABEL, ["micro_f1", "mean_auroc"])
    with pytest.raises(ValueError, match="not available for binary"):
        check_metric_names(TaskType.BINARY, ["hamming_loss"])
    assert all(m.task_types for m in METRICS.values())


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_ranking_and_per_class_metrics_match_sklearn(data: st.DataObject) -> None:
    from runner.scoring.metrics import ndcg_at_k, precision_at_k
    from runner.scoring.spaceomics_folds import multiclass_fold, multilabel_fold

    n = data.draw(st.integers(2, 60))
    score = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n, unique=True)))
    truth = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    k = data.draw(st.integers(1, 80))
    if truth.sum() > 0:  # distinct scores: no tie-order question
        assert ndcg_at_k(truth, score, k) == pytest.approx(
            sk.ndcg_score(truth[None], score[None], k=k), abs=1e-12
        )
    top = np.argsort(-score)[: min(k, n)]
    assert precision_at_k(truth, score, k) == pytest.approx(truth[top].mean())
    classes = ["a", "b", "c"]
    y = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    p = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    fold = multiclass_fold(y, p, classes).values
    assert fold["confusion_matrix"] == sk.confusion_matrix(y, p, labels=[0, 1, 2]).tolist()
    per_class = sk.f1_score(y, p, labels=[0, 1, 2], average=None, zero_division=0)
    assert list(fold["per_class_f1"].values()) == pytest.approx(per_class.tolist())
    labels = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=n * 2, max_size=n * 2))
    ).reshape(n, 2)
    scores = np.column_stack([score, score[::-1]])
    per_label = multilabel_fold(labels, labels, scores, ["x", "y"]).values["per_label_auroc"]
    for j, name in enumerate(["x", "y"]):
        if len(set(labels[:, j])) < 2:
            assert per_label[name] is None
        else:
            assert per_label[name] == pytest.approx(
                sk.roc_auc_score(labels[:, j], scores[:, j]), abs=1e-12
            )


def test_ndcg_breaks_ties_in_the_harness_order() -> None:
    from runner.scoring.metrics import ndcg_at_k

    truth = np.array([0, 1, 0, 1])
    score = np.array([0.5, 0.5, 0.5, 0.1])
    order = np.argsort(-score)  # numpy's default sort, as the harness does
    gains = truth[order][:2]
    expected = np.sum(gains / np.log2(np.arange(2, 4))) / (1 + 1 / np.log2(3))
    assert ndcg_at_k(truth, score, 2) == pytest.approx(expected)


@settings(max_examples=200)
@given(data=st.data())
def test_auroc_is_the_exact_mann_whitney_ratio(data: st.DataObject) -> None:
    """Bit for bit the ratio of exact pair counts (scikit-learn's trapezoids can differ in
    the last bit, so they are compared only to 1e-12 above)."""
    score = np.array(data.draw(scores))
    truth = np.array(
        data.draw(st.lists(st.integers(0, 1), min_size=len(score), max_size=len(score)))
    )
    if len(set(truth.tolist())) < 2:
        return
    positive, negative = score[truth == 1], score[truth == 0]
    wins = sum(float(p > n) + 0.5 * float(p == n) for p in positive for n in negative)
    assert auroc(truth, score) == wins / (positive.size * negative.size)


def test_one_label_multilabel_f1_is_that_labels_f1() -> None:
    """scikit-learn reads a one-column indicator matrix as a binary target (its macro F1
    would average classes 0 and 1); micro and macro F1 over one label are its F1."""
    truth = np.array([[1], [0], [0], [0]])
    hard = np.array([[1], [1], [0], [0]])
    got = compute(["micro_f1", "macro_f1"], Target(truth, hard, None, 1)).values
    assert got == {"micro_f1": 2 / 3, "macro_f1": 2 / 3}
