"""Protocol v1 messages. These models are the protocol's definition: docs/protocol.md
describes them and ``airlock schema protocol`` exports their JSON Schema.

Runner -> submission (stdin):  hello, fit, predict (one or more batches), shutdown.
Submission -> runner (stdout): ready, fitted, predictions (one per predict), error.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from runner.bundle.spec import TaskType
from runner.limits import MAX_MESSAGE_BYTES, PROTOCOL_VERSION, QUOTE_BYTES


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Incoming(BaseModel):
    # Submissions may add fields of their own; unknown fields are ignored, not errors.
    model_config = ConfigDict(extra="ignore")


class TaskInfo(_Message):
    """What the submission is told about the task in ``hello``."""

    bundle_id: str
    fold_id: str
    task_type: TaskType
    classes: list[str] = Field(description="Binary/multiclass label values, in probability order.")
    positive_class: str | None = Field(description="Binary: the class whose probability to send.")
    labels: list[str] = Field(description="Multilabel: label names, in column order.")
    feature_names: list[str]
    meta_columns: list[str]
    n_train: int
    n_test: int
    benchmark: dict[str, str] | None = Field(
        default=None,
        description="The hosted benchmark task this bundle reproduces (suite, task_id, variant).",
    )


class RunLimits(_Message):
    """The limits the submission runs under, for information (they are enforced anyway)."""

    fit_seconds: float
    predict_seconds: float
    memory_bytes: int
    cpus: float
    gpus: int


class Hello(_Message):
    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    task: TaskInfo
    train_dir: str = Field(description="Read-only directory holding X.csv, y.csv, meta.csv.")
    limits: RunLimits
    max_message_bytes: int = MAX_MESSAGE_BYTES


class Fit(_Message):
    type: Literal["fit"] = "fit"


class Predict(_Message):
    type: Literal["predict"] = "predict"
    batch: int = Field(ge=0, description="Batch number, echoed in the reply.")
    ids: list[str]
    X: list[list[float | None]] = Field(description="Rows of features; null = missing value.")
    meta: list[list[str]] = Field(description="Rows of metadata, columns as in hello.")


class Shutdown(_Message):
    type: Literal["shutdown"] = "shutdown"


class Ready(_Incoming):
    type: Literal["ready"]
    protocol: StrictInt
    name: StrictStr | None = Field(default=None, max_length=200)


class Fitted(_Incoming):
    type: Literal["fitted"]


class Predictions(_Incoming):
    """Predictions for one batch: ``proba`` and/or ``labels`` (at least one).

    Binary: ``proba`` is a list of positive-class probabilities, ``labels`` a list of class
    names. Multiclass: ``proba`` is a list of per-class probability lists (class order of
    hello), ``labels`` class names. Multilabel: ``proba`` and ``labels`` are lists of
    per-label lists (probabilities, or 0/1).
    """

    type: Literal["predictions"]
    batch: StrictInt
    ids: list[StrictStr]
    proba: list[StrictFloat] | list[list[StrictFloat]] | None = None
    labels: list[StrictStr] | list[list[StrictInt]] | None = None


class Error(_Incoming):
    """The submission reports its own failure; the fold ends ``crashed`` with this text."""

    type: Literal["error"]
    message: StrictStr


Outgoing = Annotated[Hello | Fit | Predict | Shutdown, Field(discriminator="type")]
Incoming = Annotated[Ready | Fitted | Predictions | Error, Field(discriminator="type")]
_INCOMING: TypeAdapter[Ready | Fitted | Predictions | Error] = TypeAdapter(Incoming)


class MessageError(ValueError):
    """A stdout line that is not a valid incoming message; the text says what is wrong.

    ``public`` says it without quoting the submission's bytes (shown in sealed mode).
    """

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self.public = public


def quote(data: bytes) -> str:
    """The first bytes of ``data`` as a printable, bounded quotation."""
    shown = data[:QUOTE_BYTES]
    suffix = f"… ({len(data)} bytes)" if len(data) > QUOTE_BYTES else ""
    return repr(shown)[1:] + suffix


def decode(line: bytes) -> Ready | Fitted | Predictions | Error:
    """Parse one stdout line into a message.

    NaN and Infinity tokens are accepted here so that they reach prediction validation and
    are reported as invalid values rather than as unreadable JSON.
    """
    try:
        raw: Any = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MessageError(
            f"stdout line is not JSON: {quote(line)}", "stdout line is not JSON"
        ) from None
    except RecursionError:
        raise MessageError(
            f"stdout line nests too deeply: {quote(line)}", "stdout line nests too deeply"
        ) from None
    if not isinstance(raw, dict) or "type" not in raw:
        raise MessageError(
            f"expected a JSON object with a 'type' field, got: {quote(line)}",
            "expected a JSON object with a 'type' field",
        )
    try:
        return _INCOMING.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        kind = repr(raw.get("type"))[:60]
        raise MessageError(
            f"invalid {kind} message at {where}: {first['msg']}",
            f"invalid message at {where}: {first['msg']}",
        ) from None


def encode(message: Hello | Fit | Shutdown) -> bytes:
    """One small message as a JSON line."""
    return message.model_dump_json().encode() + b"\n"


def encode_predict(batch: int, ids: list[str], x: np.ndarray, meta: list[list[str]]) -> bytes:
    """A ``predict`` line built without per-value model validation (batches are large).

    The output is exactly what ``Predict`` would serialise: NaN becomes null.
    """
    rows = [[None if math.isnan(v) else v for v in row] for row in x.tolist()]
    payload = {"type": "predict", "batch": batch, "ids": ids, "X": rows, "meta": meta}
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def json_schemas() -> dict[str, Any]:
    """JSON Schema of both directions of the protocol."""
    return {
        "runner_to_submission": TypeAdapter(Outgoing).json_schema(),
        "submission_to_runner": TypeAdapter(Incoming).json_schema(),
    }
