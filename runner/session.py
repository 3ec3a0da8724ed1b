"""One fold's conversation with a submission: handshake, fit, predict, shutdown.

This module drives the protocol and measures each phase. It decides nothing: what went
wrong is recorded in a :class:`SessionOutcome` and judged by :mod:`runner.verdict`.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from runner import limits
from runner.bundle.load import PredictInputs
from runner.errors import (
    BundleError,
    InfraError,
    ProtocolViolation,
    StreamClosed,
    SubmissionFault,
)
from runner.protocol.channel import Channel, Incoming
from runner.protocol.messages import (
    Fit,
    Fitted,
    Hello,
    Predictions,
    Ready,
    ReplyBudget,
    Shutdown,
    encode,
    encode_predict,
    predictions_budget,
)
from runner.reasons import public
from runner.results.model import PhaseUsage
from runner.sandbox.base import ExitInfo, Sandbox, SandboxProvider, SandboxSpec
from runner.sandbox.logs import LogCapture

STARTUP, HANDSHAKE, FIT, PREDICT, SHUTDOWN = "startup", "handshake", "fit", "predict", "shutdown"
_EXIT_WAIT_SECONDS = 3.0


@dataclass(frozen=True)
class SessionPlan:
    """Everything a session needs, prepared by the caller."""

    spec: SandboxSpec
    hello: Hello
    inputs: PredictInputs
    outputs: int = 1
    """Values per test row in a reply: 1 (binary), classes (multiclass) or labels."""
    batch_bytes: int = limits.PREDICT_BATCH_BYTES


@dataclass
class SessionOutcome:
    """The facts of a session, for the verdict and the result."""

    phases: dict[str, PhaseUsage] = field(default_factory=dict)
    fault: SubmissionFault | None = None
    infra_error: InfraError | None = None
    exit: ExitInfo | None = None
    killed_by_runner: bool = False
    ready: Ready | None = None
    batches: list[Predictions] = field(default_factory=list)
    log: LogCapture = field(default_factory=LogCapture)
    notes: list[str] = field(default_factory=list)


class _Meter:
    """Measures wall time, CPU seconds and peak memory of each phase."""

    def __init__(
        self, sandbox: Sandbox, outcome: SessionOutcome, on_phase: Callable[[str], None] | None
    ) -> None:
        self._sandbox = sandbox
        self._outcome = outcome
        self._on_phase = on_phase

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if self._on_phase is not None:
            self._on_phase(name)
        before = self._sandbox.resources()
        started = time.monotonic()
        try:
            yield
        finally:
            wall = time.monotonic() - started
            after = self._sandbox.resources()
            cpu = None
            if after.cpu_seconds is not None:
                cpu = max(after.cpu_seconds - (before.cpu_seconds or 0.0), 0.0)
            self._outcome.phases[name] = PhaseUsage(
                wall_seconds=wall, cpu_seconds=cpu, peak_memory_bytes=after.peak_memory_bytes
            )


def run_session(
    provider: SandboxProvider,
    plan: SessionPlan,
    cancel: threading.Event,
    on_phase: Callable[[str], None] | None = None,
) -> SessionOutcome:
    """Run one fold's protocol in a fresh sandbox; the sandbox is removed on every path."""
    outcome = SessionOutcome()
    started = time.monotonic()
    try:
        sandbox = provider.start(plan.spec, cancel)
    except InfraError as exc:
        outcome.infra_error = exc
        return outcome
    outcome.phases[STARTUP] = PhaseUsage(wall_seconds=time.monotonic() - started)
    try:
        _converse(sandbox, plan, outcome, on_phase)
    except SubmissionFault as fault:
        outcome.fault = fault
    except InfraError as exc:
        outcome.infra_error = exc
    finally:
        try:
            _finish(sandbox, outcome)
        except InfraError as exc:
            outcome.infra_error = outcome.infra_error or exc
        finally:
            outcome.log = sandbox.log
            try:
                sandbox.close()
            except InfraError as exc:
                outcome.infra_error = outcome.infra_error or exc
    return outcome


def _converse(
    sandbox: Sandbox,
    plan: SessionPlan,
    outcome: SessionOutcome,
    on_phase: Callable[[str], None] | None,
) -> None:
    """The four phases in order, each measured; a fault or infra error ends the talk."""
    talk = _Conversation(sandbox, Channel(sandbox), plan, outcome)
    meter = _Meter(sandbox, outcome, on_phase)
    with meter.phase(HANDSHAKE):
        talk.handshake()
    with meter.phase(FIT):
        talk.fit()
    with meter.phase(PREDICT):
        talk.predict()
    with meter.phase(SHUTDOWN):
        talk.shutdown()


@dataclass
class _Conversation:
    """One method per protocol phase; each records what it learns in ``outcome``."""

    sandbox: Sandbox
    channel: Channel
    plan: SessionPlan
    outcome: SessionOutcome

    def _exchange(
        self,
        phase: str,
        data: bytes,
        limit: float,
        deadline: float,
        budget: ReplyBudget | None = None,
    ) -> Incoming:
        self.channel.send(data, phase=phase, deadline=deadline, limit=limit)
        if budget is None:
            return self.channel.receive(phase=phase, deadline=deadline, limit=limit)
        return self.channel.receive(phase=phase, deadline=deadline, limit=limit, budget=budget)

    def handshake(self) -> None:
        limit = self.plan.spec.limits.handshake_seconds
        reply = self._exchange(HANDSHAKE, encode(self.plan.hello), limit, time.monotonic() + limit)
        ready = _expect(reply, Ready, HANDSHAKE)
        if ready.protocol != limits.PROTOCOL_VERSION:
            raise ProtocolViolation(
                f"submission speaks protocol {ready.protocol}, the runner speaks "
                f"{limits.PROTOCOL_VERSION}",
                phase=HANDSHAKE,
                public=public("protocol_version", version=limits.PROTOCOL_VERSION),
            )
        self.outcome.ready = ready

    def fit(self) -> None:
        limit = self.plan.spec.limits.fit_seconds
        # The training data becomes readable only now: work done before `ready` cannot
        # use it, so the fit phase's figures hold all of the fitting.
        self.sandbox.release_training()
        reply = self._exchange(FIT, encode(Fit()), limit, time.monotonic() + limit)
        _expect(reply, Fitted, FIT)

    def predict(self) -> None:
        plan = self.plan
        limit = plan.spec.limits.predict_seconds
        deadline = time.monotonic() + limit
        batches = predict_messages(plan.inputs, plan.batch_bytes, plan.outputs)
        for number, (message, budget) in enumerate(batches):
            reply = _expect(
                self._exchange(PREDICT, message, limit, deadline, budget), Predictions, PREDICT
            )
            if reply.batch != number:
                raise ProtocolViolation(
                    f"predictions answer batch {reply.batch}, expected batch {number}",
                    phase=PREDICT,
                    public=public("wrong_batch", batch=number),
                )
            self.outcome.batches.append(reply)

    def shutdown(self) -> None:
        sandbox, outcome = self.sandbox, self.outcome
        deadline = time.monotonic() + limits.SHUTDOWN_GRACE_SECONDS
        with contextlib.suppress(SubmissionFault):
            self.channel.send(encode(Shutdown()), phase=SHUTDOWN, deadline=deadline, limit=0)
        sandbox.close_stdin()
        sandbox.drain(deadline)
        outcome.exit = sandbox.wait(max(deadline - time.monotonic(), 0.05))
        if outcome.exit is None:
            outcome.notes.append(
                f"did not exit within {limits.SHUTDOWN_GRACE_SECONDS:g} s of shutdown; killed"
            )


_M = TypeVar("_M", Ready, Fitted, Predictions)


def _expect(message: Incoming, kind: type[_M], phase: str) -> _M:
    if not isinstance(message, kind):
        wanted = {Ready: "ready", Fitted: "fitted", Predictions: "predictions"}[kind]
        text = public("wrong_message", expected=wanted, phase=phase, kind=message.type)
        raise ProtocolViolation(text, phase=phase, public=text)
    return message


def _finish(sandbox: Sandbox, outcome: SessionOutcome) -> None:
    """Make sure the container has stopped and learn how it ended."""
    if outcome.exit is not None:
        return
    if isinstance(outcome.fault, StreamClosed):
        # It probably exited by itself: collect its last words and its real exit status
        # before deciding to kill it.
        sandbox.drain(time.monotonic() + 1.0)
        outcome.exit = sandbox.wait(_EXIT_WAIT_SECONDS)
        if outcome.exit is not None:
            return
    outcome.killed_by_runner = True
    sandbox.kill()
    sandbox.drain(time.monotonic() + 1.0)
    outcome.exit = sandbox.wait(_EXIT_WAIT_SECONDS)


def predict_messages(
    inputs: PredictInputs, batch_bytes: int, outputs: int = 1
) -> Iterator[tuple[bytes, ReplyBudget]]:
    """Encoded ``predict`` lines covering every test row in order, each under the size
    limit, with the budget of the reply each one asks for.

    Raises:
        BundleError: when a single row cannot fit in one message.
    """
    n_rows = len(inputs.ids)
    if n_rows == 0:
        return
    # Estimate the rows per batch from the first rows, then split further where needed.
    sample = min(n_rows, 64)
    per_row = (
        len(encode_predict(0, inputs.ids[:sample], inputs.X[:sample], inputs.meta[:sample]))
        / sample
    )
    step = max(1, min(n_rows, math.floor(batch_bytes / max(per_row, 1.0))))
    number = 0
    stack = [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)][::-1]
    while stack:
        start, stop = stack.pop()
        ids = inputs.ids[start:stop]
        message = encode_predict(number, ids, inputs.X[start:stop], inputs.meta[start:stop])
        if len(message) > limits.MAX_MESSAGE_BYTES or (
            len(message) > batch_bytes and stop - start > 1
        ):
            if stop - start == 1:
                raise BundleError(
                    f"test row {inputs.ids[start]!r} alone exceeds the "
                    f"{limits.MAX_MESSAGE_BYTES}-byte message limit"
                )
            middle = (start + stop) // 2
            stack += [(middle, stop), (start, middle)]
            continue
        ids_bytes = len(json.dumps(ids, separators=(",", ":")))
        yield message, predictions_budget(len(ids), ids_bytes, outputs)
        number += 1
