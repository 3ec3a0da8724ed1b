"""Airlock participant SDK (protocol v1).

Write a class with two methods and hand an instance to ``serve``::

    from airlock_sdk import serve

    class Model:
        def fit(self, X, y, meta, task):      # pandas DataFrame / Series, indexed by sample id
            ...
        def predict(self, X, meta, task):     # return probabilities or labels, one row per X row
            ...

    if __name__ == "__main__":
        serve(Model())

``serve`` speaks the JSON-lines protocol on stdin/stdout. Anything your code prints
(``print``, warnings, C libraries writing to fd 1) is redirected to stderr, so it can never
corrupt the protocol. What ``predict`` may return (``task.outputs`` is the column order):

* binary:     floats (n,) = probability of ``task.positive_class``; or floats (n, 2) in
              ``task.classes`` order; or class names (n,); or class indices (n,)
* multiclass: floats (n, k) = per-class probabilities; or class names / indices (n,)
* multilabel: floats (n, L) = per-label probabilities; or ints/bools (n, L) of 0/1
* a pandas DataFrame whose columns are exactly the class (or label) names, in any order
  (a frame with other column names is refused, never read by position)
* ``{"proba": ..., "labels": ...}`` to send both

An exception in ``fit`` or ``predict`` is reported to the runner as an ``error`` message
(the fold ends ``crashed`` with your message) and its traceback goes to stderr. Predictions
that do not fit the task (a DataFrame with the wrong columns) end the fold
``invalid_predictions`` with the offending names.

Call ``serve`` before anything prints: it is what moves ``print`` to stderr. Output written
to stdout before it (a library banner at import time, a print at module level) reaches the
runner as junk and ends the fold ``protocol_error``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

PROTOCOL_VERSION = 1
__all__ = ["InvalidPredictionsError", "Model", "Task", "load_training", "serve"]


@dataclass(frozen=True)
class Task:
    """What the runner says about the task in its ``hello`` message."""

    bundle_id: str
    fold_id: str
    task_type: str
    classes: list[str]
    positive_class: str | None
    labels: list[str]
    feature_names: list[str]
    meta_columns: list[str]
    n_train: int
    n_test: int
    train_dir: Path
    limits: dict[str, Any] = field(default_factory=dict)
    benchmark: dict[str, str] | None = None
    """Set when the bundle reproduces a hosted benchmark task: suite, task_id, variant."""

    @property
    def outputs(self) -> list[str]:
        """Class names (binary, multiclass) or label names (multilabel), in protocol order."""
        return self.labels if self.task_type == "multilabel" else self.classes

    @classmethod
    def from_hello(cls, message: dict[str, Any]) -> Task:
        info = message["task"]
        return cls(
            bundle_id=info["bundle_id"],
            fold_id=info["fold_id"],
            task_type=info["task_type"],
            classes=list(info["classes"]),
            positive_class=info.get("positive_class"),
            labels=list(info["labels"]),
            feature_names=list(info["feature_names"]),
            meta_columns=list(info["meta_columns"]),
            n_train=int(info["n_train"]),
            n_test=int(info["n_test"]),
            train_dir=Path(message["train_dir"]),
            limits=dict(message.get("limits") or {}),
            benchmark=info.get("benchmark"),
        )


class InvalidPredictionsError(ValueError):
    """``predict`` returned something that does not fit the task (reported as such)."""


class Model(Protocol):
    def fit(self, X: pd.DataFrame, y: Any, meta: pd.DataFrame, task: Task) -> object: ...

    def predict(self, X: pd.DataFrame, meta: pd.DataFrame, task: Task) -> Any: ...


def _read_table(path: Path, *, text: bool = False) -> pd.DataFrame:
    id_column = pd.read_csv(path, nrows=0).columns[0]
    if text:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(path, dtype={id_column: str})
    return frame.set_index(id_column)


def load_training(task: Task) -> tuple[pd.DataFrame, pd.Series | pd.DataFrame, pd.DataFrame]:
    """The fold's training data: X (floats), y (class names, or 0/1 per label), meta (text)."""
    X = _read_table(task.train_dir / "X.csv").astype(float)
    labels = _read_table(task.train_dir / "y.csv", text=True)
    if task.task_type == "multilabel":
        y: pd.Series | pd.DataFrame = labels[task.labels].astype(int)
    else:
        y = labels.iloc[:, 0]
    meta = _read_table(task.train_dir / "meta.csv", text=True)
    return X, y, meta


def _as_array(values: Any, task: Task) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        names = [str(c) for c in values.columns]
        if sorted(names) != sorted(task.outputs):
            what = "labels" if task.task_type == "multilabel" else "classes"
            unknown = [n for n in names if n not in task.outputs]
            absent = [n for n in task.outputs if n not in names]
            raise InvalidPredictionsError(
                f"predict returned a DataFrame with columns {names}; they must be the task's "
                f"{what} {task.outputs} (any order): not {what}: {unknown}, missing: {absent}"
            )
        values = values.set_axis(names, axis=1)[task.outputs]
        return values.to_numpy()
    if isinstance(values, pd.Series):
        return values.to_numpy()
    return np.asarray(values)


def _encode(task: Task, result: Any) -> dict[str, Any]:
    """Turn whatever ``predict`` returned into the ``proba``/``labels`` fields."""
    if isinstance(result, dict):
        fields: dict[str, Any] = {}
        if result.get("proba") is not None:
            fields.update(_encode(task, _as_array(result["proba"], task).astype(float)))
        if result.get("labels") is not None:
            fields.update(_encode(task, _as_array(result["labels"], task)))
        return fields
    array = _as_array(result, task)
    kind = array.dtype.kind
    if task.task_type == "multilabel":
        if kind == "f":
            return {"proba": array.astype(float).tolist()}
        return {"labels": array.astype(int).tolist()}
    if kind == "f":
        if task.task_type == "binary":
            if array.ndim == 2:
                column = task.classes.index(task.positive_class) if array.shape[1] == 2 else 0
                array = array[:, column]
            return {"proba": array.astype(float).tolist()}
        return {"proba": array.astype(float).tolist()}
    if kind in "iub":
        return {"labels": [task.classes[int(i)] for i in array.ravel()]}
    return {"labels": [str(v) for v in array.ravel()]}


class _Protocol:
    """The runner connection: protocol messages on the real stdout only."""

    def __init__(self) -> None:
        # Keep a private handle on fd 1 for protocol messages, then point fd 1 (and
        # sys.stdout) at stderr so that nothing else can ever write to the protocol stream.
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message, separators=(",", ":")) + "\n")
        self._out.flush()


def _exit_now() -> None:
    """Exit at once after ``shutdown``: the predictions are delivered, and tearing down an
    interpreter full of scientific libraries costs a few hundred ms of CPU per fold."""
    sys.stderr.flush()
    os._exit(0)


def serve(model: Model, name: str | None = None) -> None:
    """Answer the runner's messages until it says ``shutdown`` (or closes stdin)."""
    channel = _Protocol()
    task: Task | None = None
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        message = json.loads(raw)
        kind = message.get("type")
        try:
            if kind == "hello":
                task = Task.from_hello(message)
                channel.send(
                    {
                        "type": "ready",
                        "protocol": PROTOCOL_VERSION,
                        "name": name or type(model).__name__,
                    }
                )
            elif kind == "fit":
                assert task is not None, "fit before hello"
                X, y, meta = load_training(task)
                model.fit(X, y, meta, task)
                channel.send({"type": "fitted"})
            elif kind == "predict":
                assert task is not None, "predict before hello"
                ids = [str(i) for i in message["ids"]]
                X = pd.DataFrame(
                    np.array(message["X"], dtype=float).reshape(len(ids), len(task.feature_names)),
                    index=pd.Index(ids, name="id"),
                    columns=task.feature_names,
                )
                meta = pd.DataFrame(
                    message["meta"], index=X.index, columns=task.meta_columns, dtype=str
                )
                result = model.predict(X, meta, task)
                channel.send(
                    {
                        "type": "predictions",
                        "batch": message["batch"],
                        "ids": ids,
                        **_encode(task, result),
                    }
                )
            elif kind == "shutdown":
                _exit_now()
        except InvalidPredictionsError as exc:
            sys.stderr.write(f"airlock_sdk: {exc}\n")
            channel.send(
                {"type": "error", "kind": "invalid_predictions", "message": str(exc)[:1000]}
            )
            sys.exit(1)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            channel.send(
                {"type": "error", "message": f"{type(exc).__name__} in {kind}: {exc}"[:1000]}
            )
            sys.exit(1)
