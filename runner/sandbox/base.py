"""The sandbox interface: few operations, each one an I/O primitive the session needs."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from runner import limits
from runner.limits import AppliedLimits
from runner.sandbox.logs import LogCapture


@dataclass(frozen=True)
class SandboxSpec:
    """Everything needed to start one fold's sandbox, its limits already applied."""

    image: str
    train_dir: Path
    limits: AppliedLimits
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageInfo:
    """What the engine knows of an image; recorded as the submission's provenance."""

    ref: str
    id: str
    repo_digests: list[str]
    user: str
    labels: dict[str, str]


@dataclass(frozen=True)
class ExitInfo:
    """How the sandbox ended. ``exit_code`` is None when it could not be determined."""

    exit_code: int | None
    oom_killed: bool


@dataclass(frozen=True)
class ResourceSample:
    """Cumulative CPU seconds and peak memory since the sandbox started (None: unknown)."""

    cpu_seconds: float | None
    peak_memory_bytes: int | None


class Sandbox(ABC):
    """One running submission. Reads and writes are bounded by deadlines (monotonic time).

    Every method may raise :class:`~runner.errors.Cancelled` when the run is interrupted and
    :class:`~runner.errors.InfraError` when the engine fails.
    """

    @abstractmethod
    def send(self, data: bytes, deadline: float) -> None:
        """Write ``data`` to stdin; raises DeadlineReached if it cannot be written in time."""

    @abstractmethod
    def read_stdout(self, deadline: float) -> bytes:
        """Return the next stdout bytes (never empty); raises DeadlineReached or StreamEnded."""

    @abstractmethod
    def close_stdin(self) -> None:
        """Signal end of input."""

    @abstractmethod
    def release_training(self) -> None:
        """Make the fold's training data readable: called as the fit phase begins, so that
        nothing before ``fit`` can use it (a sandbox without such a gate does nothing)."""

    @abstractmethod
    def drain(self, deadline: float) -> None:
        """Keep reading (and discarding stdout, capturing stderr) until EOF or the deadline."""

    @abstractmethod
    def wait(self, timeout: float) -> ExitInfo | None:
        """Wait for the sandbox to exit; None if it is still running after ``timeout``."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the sandbox now (idempotent)."""

    @abstractmethod
    def resources(self) -> ResourceSample:
        """Resource use so far (the last known figures once the sandbox has exited)."""

    @property
    @abstractmethod
    def log(self) -> LogCapture:
        """The sandbox's stderr as captured so far."""

    @abstractmethod
    def close(self) -> None:
        """Remove the sandbox and everything it created (idempotent, safe on every path)."""


class SandboxProvider(ABC):
    """Creates sandboxes and answers questions about the engine behind them."""

    name: str
    isolated: bool = True
    """False for providers that run submissions without isolation (never sealed)."""

    @abstractmethod
    def describe_image(self, ref: str) -> ImageInfo:
        """Resolve an image reference; raises ImageUnavailable."""

    @abstractmethod
    def check(self, spec: SandboxSpec) -> None:
        """Raise InfraError (e.g. GpuUnavailable) if ``spec`` cannot be run on this engine."""

    def train_path(self, spec: SandboxSpec) -> str:
        """Where the sandbox sees the fold's training directory (``hello.train_dir``)."""
        return limits.TRAIN_MOUNT

    @abstractmethod
    def start(self, spec: SandboxSpec, cancel: threading.Event) -> Sandbox:
        """Create and start a sandbox with stdin/stdout/stderr attached."""

    @abstractmethod
    def reap(self, *, everything: bool = False) -> int:
        """Remove leftover sandboxes of dead runs (all of Airlock's with ``everything``)."""

    @abstractmethod
    def engine_description(self) -> str:
        """Engine name and version, for provenance."""
