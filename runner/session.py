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
from runner.limits import AppliedLimits
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
PROBE = "probe"
_EXIT_WAIT_SECONDS = 3.0


@dataclass(frozen=True)
class ProbeSeries:
    """One robustness probe level: its name (the ``probe`` field of its messages) and its
    perturbed test inputs, built only when its turn comes (one copy in memory at a time)."""

    name: str
    inputs: Callable[[], PredictInputs]


@dataclass(frozen=True)
class SessionPlan:
    """Everything a session needs, prepared by the caller."""

    spec: SandboxSpec
    hello: Hello
    inputs: PredictInputs
    outputs: int = 1
    """Values per test row in a reply: 1 (binary), classes (multiclass) or labels."""
    batch_bytes: int = limits.PREDICT_BATCH_BYTES
    probes: tuple[ProbeSeries, ...] = ()
    """Sent after the clean predict, each series within the fold's predict limit."""
    phase_limits: AppliedLimits | None = None
    """The phases' limits when the container's differ (its lifetime covers the probes)."""

    @property
    def limits(self) -> AppliedLimits:
        return self.phase_limits or self.spec.limits


@dataclass(frozen=True)
class ProbeFailure:
    """The probe series that failed (the last one sent) and how; later ones never ran."""

    series: str
    fault: SubmissionFault


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
    probe_batches: dict[str, list[Predictions]] = field(default_factory=dict)
    """Replies of each probe series that was answered in full, by series name."""
    probe_failure: ProbeFailure | None = None
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
    if plan.probes:
        with meter.phase(PROBE):
            talk.probe()
        if outcome.probe_failure is not None:
            return  # a broken conversation: no shutdown grace, the container is stopped
    with meter.phase(SHUTDOWN):
        talk.shutdown()


@dataclass
class _Conversation:
    """One method per protocol phase; each records what it learns in ``outcome``."""

    sandbox: Sandbox
    channel: Channel
    plan: SessionPlan
    outcome: SessionOutcome
    _sent: int = 0
    """Predict messages sent so far: the next one's batch number."""

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
        limit = self.plan.limits.handshake_seconds
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
        limit = self.plan.limits.fit_seconds
        # The training data becomes readable only now: work done before `ready` cannot
        # use it, so the fit phase's figures hold all of the fitting.
        self.sandbox.release_training()
        reply = self._exchange(FIT, encode(Fit()), limit, time.monotonic() + limit)
        _expect(reply, Fitted, FIT)

    def predict(self) -> None:
        self.outcome.batches = self._series(self.plan.inputs, PREDICT)

    def probe(self) -> None:
        """Every probe series in turn, each within the predict limit; the first failure
        ends them (the clean predictions stand whatever happens here)."""
        for series in self.plan.probes:
            try:
                self.outcome.probe_batches[series.name] = self._series(
                    series.inputs(), PROBE, series.name
                )
            except SubmissionFault as fault:
                self.outcome.probe_failure = ProbeFailure(series.name, fault)
                return

    def _series(
        self, inputs: PredictInputs, phase: str, probe: str | None = None
    ) -> list[Predictions]:
        """One pass over the test rows; batch numbers go on from the last one sent."""
        plan = self.plan
        limit = plan.limits.predict_seconds
        deadline = time.monotonic() + limit
        first = self._sent
        replies = []
        for number, (message, budget) in enumerate(
            predict_messages(inputs, plan.batch_bytes, plan.outputs, first, probe), start=first
        ):
            self._sent = number + 1
            reply = _expect(
                self._exchange(phase, message, limit, deadline, budget), Predictions, phase
            )
            if reply.batch != number:
                raise ProtocolViolation(
                    f"predictions answer batch {reply.batch}, expected batch {number}",
                    phase=phase,
                    public=public("wrong_batch", batch=number),
                )
            replies.append(reply)
        return replies

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
    fault = outcome.fault or (outcome.probe_failure.fault if outcome.probe_failure else None)
    if isinstance(fault, StreamClosed):
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
    inputs: PredictInputs,
    batch_bytes: int,
    outputs: int = 1,
    first: int = 0,
    probe: str | None = None,
) -> Iterator[tuple[bytes, ReplyBudget]]:
    """Encoded ``predict`` lines covering every test row in order, each under the size
    limit, with the budget of the reply each one asks for. Batches are numbered from
    ``first``; a probe series' messages carry its name in ``probe``.

    Raises:
        BundleError: when a single row cannot fit in one message.
    """
    n_rows = len(inputs.ids)
    if n_rows == 0:
        return
    # Estimate the rows per batch from the first rows, then split further where needed.
    sample = min(n_rows, 64)
    head = encode_predict(
        first, inputs.ids[:sample], inputs.X[:sample], inputs.meta[:sample], probe
    )
    per_row = len(head) / sample
    step = max(1, min(n_rows, math.floor(batch_bytes / max(per_row, 1.0))))
    number = first
    stack = [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)][::-1]
    while stack:
        start, stop = stack.pop()
        ids = inputs.ids[start:stop]
        message = encode_predict(number, ids, inputs.X[start:stop], inputs.meta[start:stop], probe)
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
