"""The failure taxonomy: one pure function decides every fold's status and reason.

Order matters and is the policy:
1. the infrastructure failed            -> infra_error (never blamed on the submission)
2. nothing went wrong                   -> ok
3. the kernel killed it for memory      -> oom (whatever symptom the runner saw first)
4. a phase ran out of time              -> timeout
5. it reported an error / exited non-0  -> crashed
6. it broke the protocol (exit 0 early) -> protocol_error
7. its predictions cannot be scored     -> invalid_predictions
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from runner.errors import (
    PhaseTimeout,
    ProtocolViolation,
    ReportedInvalidPredictions,
    StreamClosed,
    SubmissionFault,
    SubmissionReportedError,
)
from runner.reasons import public


class Status(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    OOM = "oom"
    CRASHED = "crashed"
    PROTOCOL_ERROR = "protocol_error"
    INVALID_PREDICTIONS = "invalid_predictions"
    INFRA_ERROR = "infra_error"


@dataclass(frozen=True)
class Evidence:
    """What is known about a fold once its session is over."""

    infra_error: str | None = None
    fault: SubmissionFault | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    killed_by_runner: bool = False
    prediction_problem: str | None = None
    prediction_problem_public: str | None = None
    memory_limit_bytes: int | None = None
    phase_seconds: float | None = None
    """Wall time of the phase that failed, as the runner measured it."""
    peak_memory_bytes: int | None = None
    """Peak memory of the sandbox up to the failure, as the runner measured it."""


@dataclass(frozen=True)
class Verdict:
    """The status, the full one-line reason, and ``public_reason``: one of the fixed
    templates of runner/reasons.py, with nothing the submission wrote or controls (what
    sealed mode shows). Infrastructure reasons are the runner's own text."""

    status: Status
    reason: str
    phase: str | None = None
    public_reason: str = ""


def _mib(value: int | None) -> str:
    return f"{value / 2**20:.0f} MiB" if value else "its limit"


def _measured(evidence: Evidence) -> str:
    """The runner's own figures for the failed phase, e.g. `` (ran 60.2 s, peak 812 MiB)``."""
    parts = []
    if evidence.phase_seconds is not None:
        parts.append(f"ran {evidence.phase_seconds:.1f} s")
    if evidence.peak_memory_bytes:
        parts.append(f"peak memory {_mib(evidence.peak_memory_bytes)}")
    return f" ({', '.join(parts)})" if parts else ""


def decide(evidence: Evidence) -> Verdict:
    """Classify a fold (see the module docstring for the order of the rules)."""
    fault = evidence.fault
    phase = fault.phase if fault is not None else None
    if evidence.infra_error is not None:
        return Verdict(Status.INFRA_ERROR, evidence.infra_error, phase, evidence.infra_error)
    if fault is None and evidence.prediction_problem is None:
        return Verdict(Status.OK, "")
    if evidence.oom_killed:
        where = f" during {phase}" if phase else ""
        peak = evidence.peak_memory_bytes
        measured = f" (peak measured {_mib(peak)})" if peak else ""
        memory = _mib(evidence.memory_limit_bytes)
        return Verdict(
            Status.OOM,
            f"killed for using more than {memory} of memory{where}{measured}",
            phase,
            public("oom", memory=memory, phase=phase)
            if phase
            else public("oom_unphased", memory=memory),
        )
    if isinstance(fault, PhaseTimeout):
        return Verdict(Status.TIMEOUT, f"{fault}{_measured(evidence)}", phase, fault.public)
    if isinstance(fault, ReportedInvalidPredictions):
        return Verdict(Status.INVALID_PREDICTIONS, str(fault), phase, fault.public)
    if isinstance(fault, SubmissionReportedError):
        return Verdict(Status.CRASHED, str(fault), phase, fault.public)
    if isinstance(fault, StreamClosed):
        return _stream_closed(fault, evidence)
    if isinstance(fault, ProtocolViolation):
        return Verdict(Status.PROTOCOL_ERROR, str(fault), phase, fault.public)
    if fault is not None:  # a SubmissionFault subclass added later must still be classified
        return Verdict(Status.CRASHED, str(fault), phase, fault.public)
    return Verdict(
        Status.INVALID_PREDICTIONS,
        evidence.prediction_problem or "",
        "predict",
        evidence.prediction_problem_public or "",
    )


def _stream_closed(fault: StreamClosed, evidence: Evidence) -> Verdict:
    code, phase = evidence.exit_code, fault.phase
    if evidence.killed_by_runner:
        text = public("stdout_closed_running", phase=phase)
        return Verdict(Status.PROTOCOL_ERROR, text, phase, text)
    if code == 0:
        text = public("exit_zero_early", phase=phase)
        hint = (
            "; it never answered hello: does the program call serve() (Python SDK), or read "
            "its messages from stdin?"
            if phase == "handshake"
            else ""
        )
        return Verdict(Status.PROTOCOL_ERROR, text + hint, phase, text)
    if code is not None and code > 128:
        return Verdict(
            Status.CRASHED,
            f"killed by signal {code - 128} during {phase} (exit code {code})",
            phase,
            public("exit_signal", phase=phase),
        )
    if code is None:
        described, template = "an unknown exit code", public("exit_unknown", phase=phase)
    else:
        described, template = f"exit code {code}", public("exit_nonzero", phase=phase)
    if str(fault) != fault.public:  # the stream ended mid-line: say what was pending
        return Verdict(
            Status.CRASHED, f"exited with {described} during {phase} ({fault})", phase, template
        )
    return Verdict(Status.CRASHED, f"exited with {described} during {phase}", phase, template)
