"""Message framing over a sandbox: bounded JSON lines, deadlines, typed faults with phase."""

from __future__ import annotations

from runner import limits
from runner.errors import (
    DeadlineReached,
    OutputTooLarge,
    PhaseTimeout,
    ProtocolViolation,
    StreamClosed,
    StreamEnded,
    SubmissionReportedError,
)
from runner.protocol.messages import Error, Fitted, MessageError, Predictions, Ready, decode, quote
from runner.sandbox.base import Sandbox

Incoming = Ready | Fitted | Predictions | Error


class Channel:
    """Sends runner messages and receives submission messages, one line at a time.

    Never holds more than ``max_bytes`` of an incomplete line: a longer line is a protocol
    violation, reported with its first bytes.
    """

    def __init__(self, sandbox: Sandbox, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> None:
        self._sandbox = sandbox
        self._max = max_bytes
        self._buffer = bytearray()

    def send(self, data: bytes, *, phase: str, deadline: float, limit: float) -> None:
        try:
            self._sandbox.send(data, deadline)
        except DeadlineReached:
            raise PhaseTimeout(
                f"{phase} phase exceeded its {limit:g} s limit "
                "(the submission stopped reading stdin)",
                phase=phase,
                limit_seconds=limit,
            ) from None
        except StreamEnded:
            raise StreamClosed(
                f"the submission closed its input during {phase}", phase=phase
            ) from None

    def receive(self, *, phase: str, deadline: float, limit: float) -> Incoming:
        """The next message; an ``error`` message from the submission is raised as a fault."""
        line = self._read_line(phase, deadline, limit)
        try:
            message = decode(line)
        except MessageError as exc:
            raise ProtocolViolation(
                f"{exc} (during {phase})", phase=phase, public=f"{exc.public} (during {phase})"
            ) from None
        if isinstance(message, Error):
            text = message.message.strip().splitlines()[0][:300] if message.message.strip() else ""
            raise SubmissionReportedError(
                f"the submission reported an error during {phase}: {text or '(no message)'}",
                phase=phase,
                public=f"the submission reported an error during {phase} (message withheld)",
            )
        return message

    def _read_line(self, phase: str, deadline: float, limit: float) -> bytes:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline]).rstrip(b"\r")
                del self._buffer[: newline + 1]
                if len(line) > self._max:
                    raise self._too_long(line, phase)
                if line.strip():
                    return line
                continue  # blank lines carry nothing; tolerate them
            if len(self._buffer) > self._max:
                raise self._too_long(bytes(self._buffer), phase)
            try:
                self._buffer += self._sandbox.read_stdout(deadline)
            except DeadlineReached:
                raise PhaseTimeout(
                    f"{phase} phase exceeded its {limit:g} s limit",
                    phase=phase,
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
                    public=f"stdout closed during {phase}",
                ) from None
            except OutputTooLarge as exc:
                raise ProtocolViolation(
                    f"{exc} during {phase}: {quote(exc.head)}",
                    phase=phase,
                    public=f"{exc} during {phase}",
                ) from None

    def _too_long(self, data: bytes, phase: str) -> ProtocolViolation:
        summary = f"stdout line longer than the {self._max}-byte message limit during {phase}"
        return ProtocolViolation(f"{summary}: {quote(data)}", phase=phase, public=summary)
