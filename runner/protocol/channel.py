"""Message framing over a sandbox: bounded JSON lines, deadlines, typed faults with phase."""

from __future__ import annotations

from runner.errors import (
    DeadlineReached,
    OutputTooLarge,
    PhaseTimeout,
    ProtocolViolation,
    ReportedInvalidPredictions,
    StreamClosed,
    StreamEnded,
    SubmissionReportedError,
)
from runner.protocol.messages import (
    CONTROL_BUDGET,
    Error,
    Fitted,
    MessageError,
    Predictions,
    Ready,
    ReplyBudget,
    decode,
    quote,
)
from runner.reasons import public
from runner.sandbox.base import Sandbox
from runner.untrusted import shown

Incoming = Ready | Fitted | Predictions | Error


class Channel:
    """Sends runner messages and receives submission messages, one line at a time.

    Never holds more than the awaited message's budget of an incomplete line (plus one
    read): a longer line is a protocol violation, reported with its first bytes.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox
        self._buffer = bytearray()

    def send(self, data: bytes, *, phase: str, deadline: float, limit: float) -> None:
        try:
            self._sandbox.send(data, deadline)
        except DeadlineReached:
            raise PhaseTimeout(
                f"{phase} phase exceeded its {limit:g} s limit "
                "(the submission stopped reading stdin)",
                phase=phase,
                public=public("timeout_stdin", phase=phase, limit=f"{limit:g}"),
                limit_seconds=limit,
            ) from None
        except StreamEnded:
            raise StreamClosed(
                f"the submission closed its input during {phase}",
                phase=phase,
                public=public("stdin_closed", phase=phase),
            ) from None
        except OutputTooLarge as exc:  # it flooded stdout while being sent a message
            raise ProtocolViolation(
                f"{exc} during {phase}: {quote(exc.head)}",
                phase=phase,
                public=public("unrequested_stdout", limit=exc.limit, phase=phase),
            ) from None

    def receive(
        self,
        *,
        phase: str,
        deadline: float,
        limit: float,
        budget: ReplyBudget = CONTROL_BUDGET,
    ) -> Incoming:
        """The next message; an ``error`` message from the submission is raised as a fault."""
        line = self._read_line(phase, deadline, limit, budget)
        try:
            message = decode(line, budget, phase)
        except MessageError as exc:
            raise ProtocolViolation(str(exc), phase=phase, public=exc.public) from None
        if isinstance(message, Error):
            text = message.message.strip().splitlines()[0] if message.message.strip() else ""
            if message.kind == "invalid_predictions":
                raise ReportedInvalidPredictions(
                    f"the submission reported invalid predictions during {phase}: "
                    f"{shown(text, 300) if text else '(no message)'}",
                    phase=phase,
                    public=public("reported_invalid_predictions", phase=phase),
                )
            raise SubmissionReportedError(
                f"the submission reported an error during {phase}: "
                f"{shown(text, 300) if text else '(no message)'}",
                phase=phase,
                public=public("reported_error", phase=phase),
            )
        return message

    def _read_line(self, phase: str, deadline: float, limit: float, budget: ReplyBudget) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline]).rstrip(b"\r")
                del self._buffer[: newline + 1]
                if len(line) > budget.max_bytes:
                    raise self._too_long(line, phase, budget)
                if line.strip():
                    return line
                continue  # blank lines carry nothing; tolerate them
            if len(self._buffer) > budget.max_bytes:
                raise self._too_long(bytes(self._buffer), phase, budget)
            try:
                self._buffer += self._sandbox.read_stdout(deadline)
            except DeadlineReached:
                raise PhaseTimeout(
                    f"{phase} phase exceeded its {limit:g} s limit",
                    phase=phase,
                    public=public("timeout", phase=phase, limit=f"{limit:g}"),
                    limit_seconds=limit,
                ) from None
            except StreamEnded:
                pending = (
                    f"; unterminated output: {quote(bytes(self._buffer))}"
                    if self._buffer.strip()
                    else ""
                )
                raise StreamClosed(
                    f"stdout closed during {phase}{pending}",
                    phase=phase,
                    public=public("stdout_closed", phase=phase),
                ) from None
            except OutputTooLarge as exc:
                raise ProtocolViolation(
                    f"{exc} during {phase}: {quote(exc.head)}",
                    phase=phase,
                    public=public("unrequested_stdout", limit=exc.limit, phase=phase),
                ) from None

    def _too_long(self, data: bytes, phase: str, budget: ReplyBudget) -> ProtocolViolation:
        summary = (
            f"stdout line longer than the {budget.max_bytes}-byte limit of a "
            f"{budget.expected} message during {phase}"
        )
        return ProtocolViolation(
            f"{summary}: {quote(data[:512])}",
            phase=phase,
            public=public(
                "line_too_long", limit=budget.max_bytes, expected=budget.expected, phase=phase
            ),
        )
