"""Protocol v1 messages. These models are the protocol's definition: docs/protocol.md
describes them and ``airlock schema protocol`` exports their JSON Schema.

Runner -> submission (stdin):  hello, fit, predict (one or more batches; then, when the run
                               asks for robustness probes, more batches per probe series),
                               shutdown.
Submission -> runner (stdout): ready, fitted, predictions (one per predict), error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
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

from runner import limits
from runner.errors import Signal
from runner.limits import MAX_MESSAGE_BYTES, PROTOCOL_VERSION
from runner.reasons import MESSAGE_FIELDS, MESSAGE_TYPES, public
from runner.task_types import TaskType
from runner.untrusted import shown


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
    probe: str | None = Field(
        default=None,
        description="Absent in the clean predict; names the robustness probe series (e.g. "
        "'noise@0.5') a message belongs to. Answer it like any predict.",
    )


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
    """The submission reports its own failure; the fold ends ``crashed`` with this text, or
    ``invalid_predictions`` when ``kind`` says its predictions do not fit the task."""

    type: Literal["error"]
    message: StrictStr
    kind: Literal["invalid_predictions"] | None = Field(
        default=None,
        description="invalid_predictions: the predictions do not fit the task (e.g. a table "
        "whose columns are not the task's classes); otherwise the submission crashed.",
    )


Outgoing = Annotated[Hello | Fit | Predict | Shutdown, Field(discriminator="type")]
Incoming = Annotated[Ready | Fitted | Predictions | Error, Field(discriminator="type")]
_INCOMING: TypeAdapter[Ready | Fitted | Predictions | Error] = TypeAdapter(Incoming)


class MessageError(Signal, ValueError):
    """A stdout line that is not a valid incoming message.

    ``str(err)`` says what is wrong and may quote the line (escaped and capped, for dry
    runs); ``public`` is a fixed template without any of the submission's bytes.
    """

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self.public = public


@dataclass(frozen=True)
class ReplyBudget:
    """What an awaited line may cost the runner before it is parsed: its bytes and the
    number of JSON values in it. ``expected`` names the awaited message for reasons."""

    max_bytes: int
    max_values: int
    expected: str = "control"


CONTROL_BUDGET = ReplyBudget(limits.MAX_CONTROL_MESSAGE_BYTES, limits.MAX_EXTRA_VALUES)
"""``ready``, ``fitted`` and ``error`` are a few fields: 64 KiB is generous."""


def predictions_budget(n_ids: int, ids_json_bytes: int, width: int) -> ReplyBudget:
    """The budget of the reply to a ``predict`` batch of ``n_ids`` ids whose JSON takes
    ``ids_json_bytes``, for a task with ``width`` outputs: room for the ids twice over
    (escaping), ``proba`` and ``labels`` both, and a little of the submission's own."""
    values = n_ids * (2 * width + 1) + limits.MAX_EXTRA_VALUES
    size = (
        limits.MAX_CONTROL_MESSAGE_BYTES
        + 2 * ids_json_bytes
        + n_ids * 2 * width * limits.REPLY_BYTES_PER_VALUE
    )
    return ReplyBudget(min(size, limits.MAX_MESSAGE_BYTES), values, "predictions")


def quote(data: bytes) -> str:
    """The first bytes of ``data`` as an escaped, bounded quotation (dry-run reasons)."""
    return f"'{shown(data, limits.QUOTE_CHARS)}'"


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_LONG_INTEGER = re.compile(
    rb"(?<![0-9.eE+-])-?[0-9]{%d,}(?![0-9.eE])" % (limits.MAX_INT_DIGITS + 1)
)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = np.frombuffer(b"[{", dtype=np.uint8)


def _structure(line: bytes) -> bytes | None:
    """The line with every string's content removed (None when a string never ends).

    Linear in the line's length whatever it holds: escapes go first (a single pass), then
    the line splits at the quotes that are left; text between an opening and a closing
    quote is dropped. (A regular expression matching whole strings backtracks on an
    unterminated one and costs the square of the line's length.)
    """
    parts = _ESCAPE.sub(b"", line).split(b'"')
    if len(parts) % 2 == 0:
        return None
    return b'""'.join(parts[0::2])


def _precheck(line: bytes, budget: ReplyBudget, phase: str) -> None:
    """Bound nesting, value count and integer size before anything is materialised.

    Strings are blanked first (their content cannot nest or count); what is left is the
    line's structure, scanned with bytes methods and numpy, never element by element.
    """
    structure = _structure(line)
    if structure is None:
        raise MessageError(
            f"stdout line is not JSON (during {phase}): a string never ends: {quote(line)}",
            public("not_json", phase=phase),
        )
    if _LONG_INTEGER.search(structure):
        raise MessageError(
            f"stdout line holds an integer longer than {limits.MAX_INT_DIGITS} digits "
            f"(during {phase})",
            public("long_integer", digits=limits.MAX_INT_DIGITS, phase=phase),
        )
    brackets = np.frombuffer(structure.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if brackets.size:
        steps = np.where(np.isin(brackets, _OPENING), 1, -1).astype(np.int32)
        if int(np.cumsum(steps).max()) > limits.MAX_JSON_DEPTH:
            raise MessageError(
                f"stdout line nests deeper than {limits.MAX_JSON_DEPTH} levels (during {phase})",
                public("too_deep", depth=limits.MAX_JSON_DEPTH, phase=phase),
            )
    values = structure.count(b",") + int(brackets.size) + 1
    if values > budget.max_values:
        raise MessageError(
            f"stdout line holds about {values} JSON values, more than the {budget.max_values} "
            f"a {budget.expected} message may (during {phase})",
            public("too_many_values", expected=budget.expected, phase=phase),
        )


def decode(
    line: bytes, budget: ReplyBudget = CONTROL_BUDGET, phase: str = "handshake"
) -> Ready | Fitted | Predictions | Error:
    """Parse one stdout line into a message, within ``budget``; every failure is a
    :class:`MessageError` (never another exception, whatever the bytes).

    NaN and Infinity tokens are accepted here so that they reach prediction validation and
    are reported as invalid values rather than as unreadable JSON.
    """
    _precheck(line, budget, phase)
    try:
        raw: Any = json.loads(line)
    except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, int conversion limits
        raise MessageError(
            f"stdout line is not JSON (during {phase}): {quote(line)}",
            public("not_json", phase=phase),
        ) from None
    if not isinstance(raw, dict) or "type" not in raw:
        raise MessageError(
            f"expected a JSON object with a 'type' field (during {phase}), got: {quote(line)}",
            public("not_object", phase=phase),
        )
    kind = raw["type"]
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        named = shown(kind if isinstance(kind, str) else json.dumps(kind), 60)
        raise MessageError(
            f"message type '{named}' is not one of ready, fitted, predictions, error "
            f"(during {phase})",
            public("unknown_type", phase=phase),
        )
    try:
        return _INCOMING.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = [part for part in first["loc"][1:]]
        where = ".".join(str(part) for part in path) or "top level"
        field = path[0] if path and path[0] in MESSAGE_FIELDS else None
        template = (
            public("invalid_field", kind=kind, field=field, phase=phase)
            if field is not None
            else public("invalid_message", kind=kind, phase=phase)
        )
        raise MessageError(
            f"invalid {kind!r} message at {shown(where, 80)} (during {phase}): "
            f"{shown(first['msg'], 160)}",
            template,
        ) from None


def encode(message: Hello | Fit | Shutdown) -> bytes:
    """One small message as a JSON line."""
    return message.model_dump_json().encode() + b"\n"


def encode_predict(
    batch: int, ids: list[str], x: np.ndarray, meta: list[list[str]], probe: str | None = None
) -> bytes:
    """A ``predict`` line built without per-value model validation (batches are large).

    The output is exactly what ``Predict`` would serialise (NaN becomes null), except that
    ``probe`` is left out of the clean predict's messages rather than sent as null.
    """
    rows = [[None if math.isnan(v) else v for v in row] for row in x.tolist()]
    payload: dict[str, Any] = {
        "type": "predict",
        "batch": batch,
        "ids": ids,
        "X": rows,
        "meta": meta,
    }
    if probe is not None:
        payload["probe"] = probe
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode() + b"\n"


def json_schemas() -> dict[str, Any]:
    """JSON Schema of both directions of the protocol."""
    return {
        "runner_to_submission": TypeAdapter(Outgoing).json_schema(),
        "submission_to_runner": TypeAdapter(Incoming).json_schema(),
    }
