"""Every exception Airlock raises on purpose, in one tree (two roots).

::

    AirlockError                     base: a message meant for a human, one line
    ├── UsageError                   the command line asked for something impossible (exit 2)
    │   ├── OldStoreLayout           the result store was written by Airlock 0.1 (migrate it)
    │   └── ArchiveError             competition: the upload is not one image archive (422)
    │       └── ArchiveTooLarge      ... or is over the competition's size limit (413)
    ├── BundleError                  a task bundle cannot be loaded at all (exit 2)
    │   ├── SourceProblems           `bundle new`: the sources cannot make a bundle (every line)
    │   └── SourceError              `bundle import`: a benchmark's source files are unusable
    │       ├── SourceMissing        ... a file a task needs is absent (that task is skipped)
    │       ├── SourceInvalid        ... a file holds values the task cannot use
    │       └── GenelabSourceError   ... a GeneLab fold folder is inconsistent
    ├── InfraError                   the machine failed, not the submission: status infra_error
    │   ├── EngineUnavailable        the container engine cannot be reached
    │   ├── ImageUnavailable         the submission image is not on the engine
    │   ├── GpuUnavailable           GPUs were asked for and the engine cannot give them
    │   ├── RuntimeUnavailable       the engine has no such container runtime (e.g. runsc)
    │   └── StoreError               the result store could not be written
    ├── SubmissionFault              the submission misbehaved during a fold (never escapes a fold)
    │   ├── PhaseTimeout             a phase ran past its time limit
    │   ├── StreamClosed             the container closed stdout (usually: it exited)
    │   ├── ProtocolViolation        stdout carried something other than a valid message
    │   └── SubmissionReportedError  the submission sent an ``error`` message itself
    │       └── ReportedInvalidPredictions  ... saying its predictions do not fit the task
    ├── Refused                      competition server: a request it will not serve
    │   ├── Unauthorized             no valid token (401)
    │   ├── NotFound                 no such object for this caller (404)
    │   ├── PhaseClosed              the phase takes no submissions now (409)
    │   └── QuotaExceeded            the team's quota is used up (429)
    ├── ServerError                  competition client: the server refused or failed a call
    └── Cancelled                    the operator interrupted the run (Ctrl-C, SIGTERM)

    Signal                           internal: how a step ended, caught one layer up and
    │                                turned into a fold status or an AirlockError; never shown
    ├── StreamSignal                 how a read from a sandbox ended (the session adds the phase)
    │   ├── DeadlineReached          nothing complete arrived before the deadline
    │   ├── StreamEnded              stdout reached end of file
    │   └── OutputTooLarge           a stdout line grew past the message size limit
    ├── FrameError                   Docker's attach stream is malformed (infra_error)
    ├── MessageError                 a stdout line is not a valid message (ProtocolViolation)
    ├── InvalidPredictions           predictions break a rule (status invalid_predictions)
    ├── Undefined                    a metric is undefined on a fold (e.g. one class only)
    └── Unreadable                   a prediction file cannot be read (one problem line)

Classes defined outside this module name their module in their docstring; a structure test
(tests/unit/test_structure.py) checks that every exception class in ``runner/`` is drawn
here and descends from one of the two roots. Third-party exceptions (docker SDK, OS errors)
are translated at the boundary where they happen (``raise X from exc``).
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


class RuntimeUnavailable(InfraError):
    """The run asks for a container runtime (``--runtime``) the engine does not have."""


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


class SourceError(BundleError):
    """A hosted benchmark's source files cannot make the bundles (``bundle import``)."""


class Refused(AirlockError):
    """The competition server will not serve this request (an HTTP 4xx problem)."""


class Signal(Exception):
    """Internal: how a step ended. Caught one layer up and turned into a fold status or an
    :class:`AirlockError`; its text is never shown as is."""


class StreamSignal(Signal):
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
