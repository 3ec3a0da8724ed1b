"""The sandbox interface: few operations, each one an I/O primitive the session needs."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import limits
from runner.errors import GpuUnavailable, ImageUnavailable, UsageError
from runner.limits import AppliedLimits
from runner.sandbox.logs import LogCapture


@dataclass(frozen=True)
class SandboxSpec:
    """Everything needed to start one fold's sandbox, its limits already applied."""

    image: str
    train_dir: Path
    limits: AppliedLimits
    labels: dict[str, str] = field(default_factory=dict)
    runtime: str = "runc"
    """The container runtime (``--runtime``); providers without one ignore it."""


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


@dataclass(frozen=True)
class EngineFacts:
    """What ``airlock doctor`` asks of an engine: its version, its API version, where it
    is, whether it can give GPUs, and the engine's own description of itself (runtimes,
    root directory, cgroups, security)."""

    version: str
    api_version: str
    address: str = ""
    gpu_capable: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class SandboxProvider(ABC):
    """Creates sandboxes and answers questions about the engine behind them: the only way
    any code outside ``runner.sandbox`` reaches an engine."""

    name: str
    isolated: bool = True
    """False for providers that run submissions without isolation (never sealed)."""

    @abstractmethod
    def describe_image(self, ref: str) -> ImageInfo:
        """Resolve an image reference; raises ImageUnavailable."""

    def ensure_image(self, ref: str) -> ImageInfo:
        """The image, fetched first (e.g. pulled by digest) when the engine lacks it."""
        return self.describe_image(ref)

    def has_image(self, ref: str) -> bool:
        """Whether the engine has the image now (nothing is fetched)."""
        try:
            self.describe_image(ref)
        except ImageUnavailable:
            return False
        return True

    def registry_digest(self, ref: str) -> str:
        """``repository@sha256:...`` of an image pushed to its registry (for the pool)."""
        raise UsageError(f"the {self.name} provider has no registry to resolve {ref!r} in")

    def load_image(self, archive: Path, tag: str) -> ImageInfo:
        """Load an image archive (``docker save`` format, tags already stripped) and tag it
        ``tag``; returns the loaded image (the competition server's uploads)."""
        raise UsageError(f"the {self.name} provider cannot load image archives")

    def save_image(self, ref: str) -> Iterator[bytes]:
        """The image as a ``docker save`` archive, in chunks (what ``airlock submit`` sends)."""
        raise UsageError(f"the {self.name} provider cannot export images")

    def push_image(self, image_id: str, repository: str) -> str:
        """Tag ``image_id`` as ``repository`` and push it; returns ``repository@sha256:...``."""
        raise UsageError(f"the {self.name} provider cannot push images")

    def gpu_capable(self) -> bool:
        """Whether the engine can give containers GPUs."""
        return False

    def check_gpus(self, gpus: int) -> None:
        """Raise GpuUnavailable when ``gpus`` > 0 and the engine cannot provide them."""
        if gpus and not self.gpu_capable():
            raise GpuUnavailable(
                f"the job asks for {gpus} GPU(s) but this engine has no 'nvidia' runtime; "
                "GPU jobs belong on the gpu queue of a GPU worker"
            )

    def try_runtime(self, runtime: str, image: str, timeout: float = 60.0) -> float:
        """Start a trivial sandbox of ``image`` under ``runtime``; returns its seconds."""
        raise UsageError(f"the {self.name} provider has no container runtimes")

    def resolve_runtime(self, requested: str | None) -> str | None:
        """The runtime a run asking for ``requested`` (None: the default) gets, or None for a
        provider without container runtimes."""
        return None

    def check_runtime(self, runtime: str) -> None:
        """Raise RuntimeUnavailable when the engine cannot run containers under ``runtime``
        (providers without container runtimes ignore it)."""
        return None

    def runtime_kind(self, runtime: str) -> str | None:
        """What ``runtime`` is on this engine (``runsc`` for any gVisor entry), or None for a
        provider that runs no container runtime at all."""
        return None

    def facts(self) -> EngineFacts:
        """The engine's health facts (raises EngineUnavailable when it cannot be asked)."""
        return EngineFacts(self.engine_description(), "")

    @abstractmethod
    def check(self, spec: SandboxSpec) -> None:
        """Raise InfraError (e.g. GpuUnavailable) if ``spec`` cannot be run on this engine."""

    def forget(self, image: ImageInfo) -> float:
        """Make the host forget what earlier sandboxes of ``image`` left in state the next
        one could read (the page cache of the image's files); returns the seconds spent.
        Nothing to forget for providers without shared state."""
        return 0.0

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
