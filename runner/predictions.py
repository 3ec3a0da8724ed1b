"""Turning the submission's prediction batches into one checked, aligned prediction set.

Every rule here protects the score: each test id exactly once, no extras, finite numbers,
probabilities in [0, 1], the right shape for the task. A violation is reported with counts
and the first offending ids, and the fold is ``invalid_predictions``.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

import numpy as np

from runner.bundle.spec import BundleSpec
from runner.errors import Signal
from runner.protocol.messages import Predictions
from runner.reasons import public
from runner.task_types import TaskType
from runner.untrusted import shown_list


class InvalidPredictions(Signal, ValueError):
    """The predictions cannot be scored. ``str(err)`` says exactly why, naming the first
    offending ids (escaped and capped); ``public`` is a fixed template without any id,
    value or count the submission chose (sealed mode shows only that, so predictions
    cannot carry data out through error messages)."""

    def __init__(self, summary: str, public_reason: str, ids: list[str] | None = None) -> None:
        super().__init__(f"{summary}: {shown_list(ids)}" if ids else summary)
        self.public = public_reason


@dataclass(frozen=True)
class PredictionSet:
    """Predictions aligned with ``ids`` (the test order).

    ``hard``: binary 0/1 (1 = positive class), multiclass class indices, multilabel 0/1
    matrix. ``score``: binary positive-class probability, multiclass (n, k) or multilabel
    (n, L) probabilities; None when only labels were sent (multiclass).
    """

    ids: list[str]
    hard: np.ndarray
    score: np.ndarray | None
    proba_sent: bool


def assemble(
    spec: BundleSpec, expected_ids: list[str], batches: list[Predictions]
) -> PredictionSet:
    """Check and merge the batches; raises InvalidPredictions on the first rule broken."""
    width = len(spec.outputs)
    ids: list[str] = []
    proba_rows: list[np.ndarray] = []
    label_rows: list[np.ndarray] = []
    kinds = {(b.proba is not None, b.labels is not None) for b in batches}
    if len(kinds) > 1:
        text = public("mixed_fields")
        raise InvalidPredictions(text, text)
    for batch in batches:
        if batch.proba is None and batch.labels is None:
            raise InvalidPredictions(
                f"batch {batch.batch} has neither 'proba' nor 'labels'", public("no_fields")
            )
        ids += batch.ids
        if batch.proba is not None:
            proba_rows.append(_proba(spec, batch, width))
        if batch.labels is not None:
            label_rows.append(_labels(spec, batch, width))
    _check_ids(expected_ids, ids)
    position = {sample_id: n for n, sample_id in enumerate(ids)}
    order = np.array([position[sample_id] for sample_id in expected_ids], dtype=np.int64)
    proba = np.concatenate(proba_rows)[order] if proba_rows else None
    labels = np.concatenate(label_rows)[order] if label_rows else None
    return _derive(spec, expected_ids, proba, labels)


def _proba(spec: BundleSpec, batch: Predictions, width: int) -> np.ndarray:
    assert batch.proba is not None
    n = len(batch.ids)
    if len(batch.proba) != n:
        raise InvalidPredictions(
            f"batch {batch.batch} has {n} ids but {len(batch.proba)} proba values",
            public("proba_count"),
        )
    if spec.task_type is TaskType.BINARY:
        if n and not all(isinstance(v, float) for v in batch.proba):
            text = public("binary_lists")
            raise InvalidPredictions(text, text)
        values: np.ndarray = np.asarray(batch.proba, dtype=np.float64).reshape(n)
    else:
        rows = batch.proba
        for sample_id, row in zip(batch.ids, rows, strict=True):
            if not isinstance(row, list) or len(row) != width:
                got = len(row) if isinstance(row, list) else "not a list of"
                output = "class" if spec.task_type is TaskType.MULTICLASS else "label"
                raise InvalidPredictions(
                    f"a row has {got} probabilities, expected {width} (one per {output} "
                    f"{spec.outputs})",
                    public("row_width", width=width, output=output),
                    [sample_id],
                )
        values = np.asarray(rows, dtype=np.float64).reshape(n, width)
    _check_probabilities(batch.ids, values)
    return values


def _check_probabilities(ids: list[str], values: np.ndarray) -> None:
    flat = values if values.ndim == 2 else values[:, None]
    nonfinite = ~np.isfinite(flat).all(axis=1)
    if nonfinite.any():
        bad = [ids[i] for i in np.flatnonzero(nonfinite)]
        raise InvalidPredictions(
            f"{len(bad)} ids have NaN or infinite probabilities", public("not_finite"), bad
        )
    outside = ((flat < 0) | (flat > 1)).any(axis=1)
    if outside.any():
        bad = [ids[i] for i in np.flatnonzero(outside)]
        raise InvalidPredictions(
            f"{len(bad)} ids have probabilities outside [0, 1]", public("out_of_range"), bad
        )


def _labels(spec: BundleSpec, batch: Predictions, width: int) -> np.ndarray:
    assert batch.labels is not None
    n = len(batch.ids)
    if len(batch.labels) != n:
        raise InvalidPredictions(
            f"batch {batch.batch} has {n} ids but {len(batch.labels)} labels",
            public("labels_count"),
        )
    if spec.task_type is TaskType.MULTILABEL:
        for sample_id, row in zip(batch.ids, batch.labels, strict=True):
            if not isinstance(row, list) or len(row) != width or any(v not in (0, 1) for v in row):
                raise InvalidPredictions(
                    f"a row is not {width} labels of 0 or 1 (one per label {spec.labels})",
                    public("multilabel_row", width=width),
                    [sample_id],
                )
        return np.asarray(batch.labels, dtype=np.int8).reshape(n, width)
    index = {name: k for k, name in enumerate(spec.classes)}
    codes = [index.get(v) if isinstance(v, str) else None for v in batch.labels]
    bad = [sample_id for sample_id, code in zip(batch.ids, codes, strict=True) if code is None]
    if bad:
        raise InvalidPredictions(
            f"{len(bad)} ids have labels that are not one of the classes {spec.classes}",
            public("unknown_class"),
            bad,
        )
    return np.asarray(codes, dtype=np.int64)


def _check_ids(expected: list[str], sent: list[str]) -> None:
    counts = Counter(sent)
    duplicated = sorted(i for i, c in counts.items() if c > 1)
    if duplicated:
        raise InvalidPredictions(
            f"{len(duplicated)} ids were predicted more than once",
            public("duplicate_ids"),
            duplicated,
        )
    expected_set = set(expected)
    missing = [i for i in expected if i not in counts]
    if missing:
        raise InvalidPredictions(
            f"{len(missing)} of {len(expected)} test ids have no prediction",
            public("missing_ids", n_test=len(expected)),
            missing,
        )
    extra = sorted(i for i in counts if i not in expected_set)
    if extra:
        raise InvalidPredictions(
            f"{len(extra)} predicted ids are not test ids", public("extra_ids"), extra
        )


def _derive(
    spec: BundleSpec, ids: list[str], proba: np.ndarray | None, labels: np.ndarray | None
) -> PredictionSet:
    """Hard labels and scores from whatever was sent (labels win for hard predictions)."""
    task = spec.task_type
    if task is TaskType.BINARY:
        positive = spec.classes.index(spec.positive_class or "")
        hard = (labels == positive).astype(np.int8) if labels is not None else None
        if proba is not None:
            hard = hard if hard is not None else (proba >= 0.5).astype(np.int8)
            score = proba
        else:
            assert hard is not None
            score = hard.astype(np.float64)  # a hard prediction is a (coarse) ranking too
        return PredictionSet(ids, hard, score, proba is not None)
    if task is TaskType.MULTICLASS:
        if labels is not None:
            hard = labels
        else:
            assert proba is not None
            hard = np.argmax(proba, axis=1)
        return PredictionSet(ids, hard, proba, proba is not None)
    if labels is not None:
        hard = labels
    else:
        assert proba is not None
        hard = (proba >= 0.5).astype(np.int8)
    score = proba if proba is not None else hard.astype(np.float64)
    return PredictionSet(ids, hard, score, proba is not None)


def to_csv(spec: BundleSpec, predictions: PredictionSet) -> bytes:
    """The predictions as CSV (id, hard label(s), probabilities when sent), for the store."""
    columns: list[tuple[str, list[str]]] = []
    outputs = spec.outputs
    proba = predictions.score if predictions.proba_sent else None
    if spec.task_type is TaskType.BINARY:
        positive = spec.positive_class or ""
        negative = next(c for c in spec.classes if c != positive)
        columns.append(("label", [positive if h else negative for h in predictions.hard]))
        if proba is not None:
            columns.append((f"proba_{positive}", [repr(float(v)) for v in proba]))
    elif spec.task_type is TaskType.MULTICLASS:
        columns.append(("label", [outputs[int(h)] for h in predictions.hard]))
        if proba is not None:
            columns += [
                (f"proba_{c}", [repr(float(v)) for v in proba[:, k]]) for k, c in enumerate(outputs)
            ]
    else:
        columns += [
            (f"label_{c}", [str(int(v)) for v in predictions.hard[:, j]])
            for j, c in enumerate(outputs)
        ]
        if proba is not None:
            columns += [
                (f"proba_{c}", [repr(float(v)) for v in proba[:, j]]) for j, c in enumerate(outputs)
            ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *(name for name, _ in columns)])
    writer.writerows(zip(predictions.ids, *(values for _, values in columns), strict=True))
    return buffer.getvalue().encode()
