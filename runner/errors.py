"""Every exception Airlock raises on purpose, in one tree.

::

    AirlockError                     base: a message meant for a human, one line
    ├── UsageError                   the command line asked for something impossible (exit 2)
    │   └── OldStoreLayout           the result store was written by Airlock 0.1 (migrate it)
    ├── BundleError                  a task bundle cannot be loaded at all (exit 2)
    ├── InfraError                   the machine failed, not the submission: status infra_error
    │   ├── EngineUnavailable        the container engine cannot be reached
    │   ├── ImageUnavailable         the submission image is not on the engine
    │   ├── GpuUnavailable           GPUs were asked for and the engine cannot give them
    │   └── StoreError               the result store could not be written
    ├── SubmissionFault              the submission misbehaved during a fold (never escapes a fold)
    │   ├── PhaseTimeout             a phase ran past its time limit
    │   ├── StreamClosed             the container closed stdout (usually: it exited)
    │   ├── ProtocolViolation        stdout carried something other than a valid message
    │   └── SubmissionReportedError  the submission sent an ``error`` message itself
    │       └── ReportedInvalidPredictions  ... saying its predictions do not fit the task
    ├── StreamSignal                 how a read from a sandbox ended (internal; the session
    │   │                            turns it into a SubmissionFault with the phase)
    │   ├── DeadlineReached          nothing complete arrived before the deadline
    │   ├── StreamEnded              stdout reached end of file
    │   └── OutputTooLarge           a stdout line grew past the message size limit
    └── Cancelled                    the operator interrupted the run (Ctrl-C, SIGTERM)

Third-party exceptions (docker SDK, OS errors) are translated at the boundary where they
happen (``raise X from exc``) so callers only ever handle this tree.
"""

from __future__ import annotations


class AirlockError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""


class UsageError(AirlockError):
    """The command line asked for something that cannot be done."""


class OldStoreLayout(UsageError):
    """The result store is in the layout of Airlock 0.1 (keyed by image only)."""


class BundleError(AirlockError):
    """A task bundle is missing, unreadable or malformed beyond validation."""


class InfraError(AirlockError):
    """A failure of the runner's machine or services; never the participant's fault."""


class EngineUnavailable(InfraError):
    """The container engine cannot be reached or refused a request."""


class ImageUnavailable(InfraError):
    """The requested image does not exist on the engine."""


class GpuUnavailable(InfraError):
    """GPUs were requested but the engine has no way to provide them."""


class StoreError(InfraError):
    """A result could not be written to the result store."""


class SubmissionFault(AirlockError):
    """The submission broke a rule during a phase of a fold.

    Attributes:
        phase: the protocol phase in which it happened (``handshake``, ``fit``, ...).
    """

    def __init__(self, message: str, *, phase: str, public: str) -> None:
        super().__init__(message)
        self.phase = phase
        self.public = public
        """One of the fixed public templates (runner/reasons.py): what sealed mode shows."""


class PhaseTimeout(SubmissionFault):
    """A phase ran past its time limit; the container was killed."""

    def __init__(self, message: str, *, phase: str, public: str, limit_seconds: float) -> None:
        super().__init__(message, phase=phase, public=public)
        self.limit_seconds = limit_seconds


class StreamClosed(SubmissionFault):
    """The container closed its stdout before the phase was complete."""


class ProtocolViolation(SubmissionFault):
    """Stdout carried bytes that are not a valid protocol message for this phase."""


class SubmissionReportedError(SubmissionFault):
    """The submission reported its own failure with an ``error`` message."""


class ReportedInvalidPredictions(SubmissionReportedError):
    """The submission said its own predictions do not fit the task (``error`` with
    ``kind: invalid_predictions``), e.g. a table whose columns are not the task's classes."""


class StreamSignal(AirlockError):
    """How a read from a sandbox's output ended; the session adds the phase."""


class DeadlineReached(StreamSignal):
    """The deadline passed before the awaited output arrived."""


class StreamEnded(StreamSignal):
    """The container's stdout reached end of file."""


class OutputTooLarge(StreamSignal):
    """Stdout nobody asked for passed ``limit`` bytes; ``head`` holds its first bytes."""

    def __init__(self, message: str, *, head: bytes, limit: int) -> None:
        super().__init__(message)
        self.head = head
        self.limit = limit


class Cancelled(AirlockError):
    """The operator interrupted the run; containers are cleaned up, nothing is scored."""
