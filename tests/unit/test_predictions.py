from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.bundle.spec import BundleSpec
from runner.predictions import InvalidPredictions, assemble, to_csv
from runner.protocol.messages import Predictions

BINARY = BundleSpec.model_validate(
    {
        "id": "b",
        "title": "b",
        "task_type": "binary",
        "classes": ["neg", "pos"],
        "positive_class": "pos",
        "metrics": {"primary": "auroc"},
        "split": {"kind": "kfold"},
        "folds": ["f"],
    }
)
MULTICLASS = BundleSpec.model_validate(
    {
        "id": "m",
        "title": "m",
        "task_type": "multiclass",
        "classes": ["a", "b", "c"],
        "metrics": {"primary": "macro_f1"},
        "split": {"kind": "kfold"},
        "folds": ["f"],
    }
)
MULTILABEL = BundleSpec.model_validate(
    {
        "id": "l",
        "title": "l",
        "task_type": "multilabel",
        "labels": ["x", "y"],
        "metrics": {"primary": "micro_f1"},
        "split": {"kind": "kfold"},
        "folds": ["f"],
    }
)
IDS = ["s1", "s2", "s3"]


def _batch(ids: list[str], **fields: object) -> Predictions:
    return Predictions.model_validate({"type": "predictions", "batch": 0, "ids": ids, **fields})


@pytest.mark.parametrize(
    ("ids", "fields", "message"),
    [
        (["s1", "s2"], {"proba": [0.1, 0.2]}, "1 of 3 test ids have no prediction: 's3'"),
        (["s1", "s2", "s3", "s4"], {"proba": [0.1] * 4}, "1 predicted ids are not test ids: 's4'"),
        (
            ["s1", "s1", "s2", "s3"],
            {"proba": [0.1] * 4},
            "1 ids were predicted more than once: 's1'",
        ),
        (IDS, {"proba": [0.1, float("nan"), 0.3]}, "NaN or infinite probabilities: 's2'"),
        (IDS, {"proba": [0.1, float("inf"), 0.3]}, "NaN or infinite probabilities: 's2'"),
        (
            IDS,
            {"proba": [0.1, 1.2, -0.1]},
            "2 ids have probabilities outside \\[0, 1\\]: 's2', 's3'",
        ),
        (IDS, {"proba": [0.1, 0.2]}, "3 ids but 2 proba values"),
        (
            IDS,
            {"labels": ["pos", "neg", "maybe"]},
            "not one of the classes \\['neg', 'pos'\\]: 's3'",
        ),
        (IDS, {"proba": [[0.1, 0.9]] * 3}, "one number per id"),
        (IDS, {}, "neither 'proba' nor 'labels'"),
    ],
)
def test_binary_rules(ids: list[str], fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidPredictions, match=message):
        assemble(BINARY, IDS, [_batch(ids, **fields)])


def test_wrong_number_of_classes_names_the_id() -> None:
    with pytest.raises(InvalidPredictions, match=r"a row has 2 probabilities, expected 3 .*: 's1'"):
        assemble(MULTICLASS, IDS, [_batch(IDS, proba=[[0.5, 0.5]] * 3)])
    with pytest.raises(InvalidPredictions, match="a row is not 2 labels of 0 or 1"):
        assemble(MULTILABEL, IDS, [_batch(IDS, labels=[[0, 2]] * 3)])


def test_mixed_fields_across_batches_are_refused() -> None:
    with pytest.raises(InvalidPredictions, match="same fields in all"):
        assemble(
            BINARY, IDS, [_batch(IDS[:1], proba=[0.1]), _batch(IDS[1:], labels=["neg", "pos"])]
        )


@given(order=st.permutations(list(range(6))), split=st.integers(min_value=0, max_value=6))
def test_alignment_follows_the_test_order_whatever_order_was_sent(
    order: list[int], split: int
) -> None:
    expected = [f"s{i}" for i in range(6)]
    proba = [i / 10 for i in range(6)]
    sent = [expected[i] for i in order]
    batches = [
        _batch(sent[:split], proba=[proba[i] for i in order[:split]]),
        _batch(sent[split:], proba=[proba[i] for i in order[split:]]),
    ]
    result = assemble(BINARY, expected, batches)
    assert result.ids == expected
    assert result.score is not None
    np.testing.assert_allclose(result.score, proba)


def test_derived_hard_labels_and_csv() -> None:
    multi = assemble(
        MULTICLASS, IDS, [_batch(IDS, proba=[[0.2, 0.7, 0.1], [0.5, 0.25, 0.25], [0, 0, 1]])]
    )
    assert multi.hard.tolist() == [1, 0, 2]
    assert to_csv(MULTICLASS, multi).decode().splitlines()[0] == "id,label,proba_a,proba_b,proba_c"
    binary = assemble(BINARY, IDS, [_batch(IDS, labels=["pos", "neg", "pos"])])
    assert binary.hard.tolist() == [1, 0, 1]
    assert binary.score is not None and binary.score.tolist() == [1.0, 0.0, 1.0]
    assert to_csv(BINARY, binary).decode().splitlines()[1] == "s1,pos"
    labels = assemble(MULTILABEL, IDS, [_batch(IDS, proba=[[0.9, 0.1], [0.4, 0.6], [0.5, 0.5]])])
    assert labels.hard.tolist() == [[1, 0], [0, 1], [1, 1]]


def test_public_messages_carry_no_submission_ids() -> None:
    with pytest.raises(InvalidPredictions) as caught:
        assemble(BINARY, IDS, [_batch(["s1", "s2", "s3", "secret-payload"], proba=[0.1] * 4)])
    assert "secret-payload" in str(caught.value)
    # Neither its ids nor how many it sent: a fixed template.
    assert caught.value.public == "some predicted ids are not test ids"
