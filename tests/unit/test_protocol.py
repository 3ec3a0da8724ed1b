from __future__ import annotations

import json
import math
import re
import time

import numpy as np
import pytest

from runner.bundle.load import PredictInputs
from runner.errors import (
    DeadlineReached,
    PhaseTimeout,
    ProtocolViolation,
    StreamClosed,
    StreamEnded,
    SubmissionReportedError,
)
from runner.limits import MAX_MESSAGE_BYTES
from runner.protocol.channel import Channel
from runner.protocol.messages import (
    MessageError,
    Predict,
    Predictions,
    Ready,
    ReplyBudget,
    decode,
    encode_predict,
    json_schemas,
)
from runner.sandbox.base import ExitInfo, ResourceSample, Sandbox
from runner.sandbox.logs import LogCapture
from runner.session import predict_messages


def test_decode_accepts_valid_messages_and_ignores_extra_fields() -> None:
    message = decode(b'{"type":"ready","protocol":1,"name":"m","extra":true}')
    assert isinstance(message, Ready) and message.name == "m"


def test_nan_and_infinity_reach_prediction_checks() -> None:
    message = decode(b'{"type":"predictions","batch":0,"ids":["a","b"],"proba":[NaN,Infinity]}')
    assert isinstance(message, Predictions)
    assert message.proba is not None and math.isnan(message.proba[0])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"Loading model... done", "not JSON (during handshake): 'Loading model... done'"),
        (b"[1, 2]", "JSON object with a 'type' field"),
        (b'{"type":"dance"}', "message type 'dance' is not one of"),
        (b'{"type":"predictions","batch":0,"ids":[1],"proba":[0.5]}', "ids.0"),
        (b'{"type":"predictions","batch":0,"ids":["a"],"proba":["0.5"]}', "proba"),
        (b'{"type":"predictions","batch":0,"ids":["a"],"proba":[true]}', "proba"),
        (b"\xff\xfe binary", "not JSON"),
    ],
)
def test_decode_rejects_with_a_quote(line: bytes, expected: str) -> None:
    with pytest.raises(MessageError, match=re.escape(expected)):
        decode(line)


def test_encode_predict_is_a_valid_predict_message_with_null_for_nan() -> None:
    line = encode_predict(3, ["a", "b"], np.array([[1.0, np.nan], [2.5, 3.0]]), [["x"], ["y"]])
    message = Predict.model_validate_json(line)
    assert message.X == [[1.0, None], [2.5, 3.0]] and message.batch == 3


def test_schema_export_covers_both_directions() -> None:
    schemas = json_schemas()
    text = json.dumps(schemas)
    for kind in ("hello", "fit", "predict", "shutdown", "ready", "fitted", "predictions", "error"):
        assert f'"const": "{kind}"' in text


def _inputs(n: int, width: int) -> PredictInputs:
    rng = np.random.default_rng(0)
    return PredictInputs(
        ids=[f"s{i}" for i in range(n)],
        feature_names=[f"f{j}" for j in range(width)],
        X=rng.normal(size=(n, width)),
        meta_columns=["m"],
        meta=[["x"]] * n,
        n_train=1,
    )


def test_predict_batches_cover_every_row_in_order_under_the_limit() -> None:
    inputs = _inputs(3000, 50)
    batches = list(predict_messages(inputs, batch_bytes=200_000))
    assert len(batches) > 1
    ids = []
    for number, (line, budget) in enumerate(batches):
        assert len(line) <= 200_000
        assert budget.expected == "predictions" and budget.max_bytes < MAX_MESSAGE_BYTES
        message = Predict.model_validate_json(line)
        assert message.batch == number
        ids += message.ids
    assert ids == inputs.ids


class ScriptedSandbox(Sandbox):
    """Stands in for the container's byte streams so the channel's framing rules can be
    tested alone (the real Docker sandbox is exercised by the integration tests)."""

    def __init__(self, chunks: list[bytes], *, hang: bool = False) -> None:
        self.chunks = list(chunks)
        self.hang = hang
        self.sent = bytearray()
        self._log = LogCapture()

    def send(self, data: bytes, deadline: float) -> None:
        self.sent += data

    def read_stdout(self, deadline: float) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        if self.hang:
            raise DeadlineReached("deadline")
        raise StreamEnded("eof")

    def close_stdin(self) -> None: ...
    def release_training(self) -> None: ...
    def drain(self, deadline: float) -> None: ...
    def wait(self, timeout: float) -> ExitInfo | None:
        return ExitInfo(0, False)

    def kill(self) -> None: ...
    def resources(self) -> ResourceSample:
        return ResourceSample(None, None)

    @property
    def log(self) -> LogCapture:
        return self._log

    def close(self) -> None: ...


def _receive(sandbox: Sandbox, max_bytes: int = MAX_MESSAGE_BYTES) -> object:
    budget = ReplyBudget(max_bytes, 10_000, "predictions")
    return Channel(sandbox).receive(
        phase="fit", deadline=time.monotonic() + 1, limit=1, budget=budget
    )


def test_channel_reassembles_lines_split_across_reads() -> None:
    sandbox = ScriptedSandbox([b'{"type":"fi', b'tted"}\n'])
    assert _receive(sandbox).type == "fitted"  # type: ignore[attr-defined]


def test_channel_refuses_a_line_longer_than_the_limit_without_holding_it() -> None:
    sandbox = ScriptedSandbox([b"a" * 600, b"a" * 600, b"a" * 600])
    with pytest.raises(
        ProtocolViolation,
        match="longer than the 1000-byte limit of a predictions message during fit",
    ):
        _receive(sandbox, max_bytes=1000)
    assert sandbox.chunks == [b"a" * 600]  # stopped reading once over the limit


def test_channel_faults_carry_the_phase() -> None:
    with pytest.raises(PhaseTimeout, match="fit phase exceeded its 1 s limit") as timeout:
        _receive(ScriptedSandbox([], hang=True))
    assert timeout.value.phase == "fit"
    with pytest.raises(StreamClosed, match="unterminated output: 'partial'"):
        _receive(ScriptedSandbox([b"partial"]))
    with pytest.raises(SubmissionReportedError, match="reported an error during fit: boom"):
        _receive(ScriptedSandbox([b'{"type":"error","message":"boom\\ntrace"}\n']))
