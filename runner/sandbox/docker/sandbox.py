"""The Docker sandbox: one container per fold, its streams read by the runner itself."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runner import limits
from runner.errors import (
    GpuUnavailable,
    InfraError,
    OutputTooLarge,
    RuntimeUnavailable,
    StreamEnded,
)
from runner.sandbox.base import (
    EngineFacts,
    ExitInfo,
    ImageInfo,
    ResourceSample,
    Sandbox,
    SandboxProvider,
    SandboxSpec,
)
from runner.sandbox.docker import staging
from runner.sandbox.docker.cgroup import CgroupFiles, find_cgroup
from runner.sandbox.docker.cleanup import deadline_label, overdue, owner_is_dead, owner_label
from runner.sandbox.docker.client import DockerEngine, engine_address
from runner.sandbox.docker.pagecache import forget_host_caches
from runner.sandbox.docker.spec import GPU_RUNTIME, create_kwargs, gpu_problem
from runner.sandbox.docker.streams import STDOUT, Demuxer, FrameError
from runner.sandbox.docker.watchdog import WATCHDOG
from runner.sandbox.logs import LogCapture
from runner.sandbox.polling import ResourceSampler, check_pending_stdout, time_left
from runner.sandbox.runtimes import DEFAULT_RUNTIME, GVISOR, missing_runtime, runtime_kind

_RECV_BYTES = 1 << 16


class _Sampler(ResourceSampler):
    """Reads the container's cgroup files when the runner can see them (cheap enough to
    read on demand), else asks the engine for stats (slow: only in the background)."""

    def __init__(self, engine: DockerEngine, container_id: str, cgroup: CgroupFiles | None):
        super().__init__(f"airlock-sampler-{container_id[:12]}")
        self._engine, self._container_id, self._cgroup = engine, container_id, cgroup

    def measure(self) -> ResourceSample | None:
        if self._cgroup is not None:
            return self._cgroup.sample()
        return self._engine.stats(self._container_id)

    @property
    def cheap(self) -> bool:
        return self._cgroup is not None


class DockerSandbox(Sandbox):
    """A started container with its attach socket. Not thread-safe: one session drives it."""

    def __init__(
        self,
        engine: DockerEngine,
        container_id: str,
        sock: socket.socket,
        cgroup: CgroupFiles | None,
        *,
        cancel: threading.Event,
        staged: Path,
    ) -> None:
        self.container_id = container_id
        self._staged = staged
        self._engine = engine
        self._sock = sock
        self._sock.setblocking(False)
        self._cancel = cancel
        self._demux = Demuxer()
        self._stdout = bytearray()
        self._log = LogCapture()
        self._eof = False
        self._closed = False
        self._sampler = _Sampler(engine, container_id, cgroup)
        self._sampler.start()

    @property
    def log(self) -> LogCapture:
        return self._log

    def _receive(self) -> None:
        """Read what is available now and route it: stdout to the buffer, stderr to the log."""
        try:
            data = self._sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if exc.errno == errno.EBADF:  # closed on the runner's side: never the submission's
                raise InfraError("the runner lost its attach socket to the container") from exc
            self._eof = True
            return
        if not data:
            self._eof = True
            return
        try:
            pieces = self._demux.feed(data)
        except FrameError as exc:
            raise InfraError(f"engine attach stream is corrupt: {exc}") from exc
        for stream, payload in pieces:
            if stream == STDOUT:
                self._stdout += payload
            else:
                self._log.write(payload)
        check_pending_stdout(self._stdout)

    def read_stdout(self, deadline: float) -> bytes:
        while True:
            if self._stdout:
                data = bytes(self._stdout)
                self._stdout.clear()
                return data
            if self._eof:
                raise StreamEnded("stdout closed")
            remaining = time_left(deadline, self._cancel)
            readable, _, _ = select.select(
                [self._sock], [], [], min(remaining, limits.POLL_SECONDS)
            )
            if readable:
                self._receive()

    def send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            if self._eof:
                raise StreamEnded("the container closed its streams while receiving input")
            remaining = time_left(deadline, self._cancel)
            readable, writable, _ = select.select(
                [self._sock], [self._sock], [], min(remaining, limits.POLL_SECONDS)
            )
            if readable:
                self._receive()  # keep draining so a chatty container cannot deadlock us
            if writable:
                try:
                    sent = self._sock.send(view[:_RECV_BYTES])
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    if exc.errno == errno.EBADF:  # the runner's own socket: not the submission
                        raise InfraError("the runner lost its attach socket") from exc
                    raise StreamEnded(f"stdin closed: {exc.strerror or exc}") from exc
                view = view[sent:]

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    def release_training(self) -> None:
        staging.release(self._staged)

    def drain(self, deadline: float) -> None:
        while not self._eof and time.monotonic() < deadline and not self._cancel.is_set():
            readable, _, _ = select.select([self._sock], [], [], limits.POLL_SECONDS)
            if readable:
                with contextlib.suppress(OutputTooLarge):
                    self._receive()
            self._stdout.clear()

    def wait(self, timeout: float) -> ExitInfo | None:
        return self._engine.wait(self.container_id, timeout)

    def kill(self) -> None:
        """Kill the container while draining its output: an engine whose output pipe is
        full (a flooding submission) only reports the exit once that output is read."""
        failure: list[BaseException] = []

        def kill() -> None:
            try:
                self._engine.kill(self.container_id)
            except BaseException as exc:
                failure.append(exc)

        killer = threading.Thread(
            target=kill, name=f"airlock-kill-{self.container_id[:12]}", daemon=True
        )
        killer.start()
        while killer.is_alive():
            if not self._eof:
                readable, _, _ = select.select([self._sock], [], [], limits.POLL_SECONDS)
                if readable:
                    with contextlib.suppress(OutputTooLarge):
                        self._receive()
                self._stdout.clear()
            else:
                killer.join(limits.POLL_SECONDS)
        if failure:
            raise failure[0]

    def resources(self) -> ResourceSample:
        return self._sampler.sample_now() if self._sampler.cheap else self._sampler.last()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sampler.stop()
        with contextlib.suppress(OSError):
            self._sock.close()
        try:
            self._engine.remove(self.container_id)
        finally:
            WATCHDOG.container_removed()
            staging.discard(self._staged)


class DockerProvider(SandboxProvider):
    """Runs sandboxes as containers on a Docker engine."""

    name = "docker"

    def __init__(self, engine: DockerEngine | None = None) -> None:
        self._engine = engine or DockerEngine()
        self._runtimes: dict[str, Any] | None = None

    @property
    def engine(self) -> DockerEngine:
        return self._engine

    def engine_description(self) -> str:
        return self._engine.version()

    def describe_image(self, ref: str) -> ImageInfo:
        return self._engine.image(ref)

    def ensure_image(self, ref: str) -> ImageInfo:
        """The image, pulled from its registry first if this engine does not have it."""
        if not self._engine.has_image(ref):
            self._engine.pull(ref)
        return self._engine.image(ref)

    def registry_digest(self, ref: str) -> str:
        return self._engine.registry_digest(ref)

    def load_image(self, archive: Path, tag: str) -> ImageInfo:
        image_id = self._engine.load(archive)
        repository, _, name = tag.partition(":")
        self._engine.tag(image_id, repository, name or "latest")
        return self._engine.image(image_id)

    def save_image(self, ref: str) -> Iterator[bytes]:
        return self._engine.save(ref)

    def push_image(self, image_id: str, repository: str) -> str:
        self._engine.tag(image_id, repository, "latest")
        self._engine.push(repository, "latest")
        return self._engine.registry_digest(f"{repository}:latest")

    def gpu_capable(self) -> bool:
        return GPU_RUNTIME in self.runtimes()

    def runtimes(self) -> dict[str, Any]:
        if self._runtimes is None:
            self._runtimes = self._engine.runtimes()
        return self._runtimes

    def runtime_kind(self, runtime: str) -> str:
        return runtime_kind(runtime, self.runtimes())

    def has_image(self, ref: str) -> bool:
        return self._engine.has_image(ref)

    def facts(self) -> EngineFacts:
        versions, info = self._engine.versions(), self._engine.info()
        return EngineFacts(
            version=f"docker {versions.get('Version', '?')}",
            api_version=str(versions.get("ApiVersion", "")),
            address=engine_address(),
            gpu_capable=GPU_RUNTIME in (info.get("Runtimes") or {}),
            info=info,
        )

    def forget(self, image: ImageInfo) -> float:
        return forget_host_caches(self._engine.layer_dirs(image.id))

    def try_runtime(self, runtime: str, image: str, timeout: float = 60.0) -> float:
        """Start ``true`` in ``image`` under ``runtime`` (no network) and return the seconds
        it took; raises InfraError saying how it failed (``airlock doctor``)."""
        started = time.monotonic()
        labels = {
            limits.LABEL_MANAGED: "1",
            limits.LABEL_OWNER: owner_label(),
            limits.LABEL_DEADLINE: deadline_label(timeout),
        }
        container_id = self._engine.create(
            {"image": image, "command": ["true"], "runtime": runtime, "network_mode": "none",
             "labels": labels, "detach": True}
        )  # fmt: skip
        try:
            self._engine.start(container_id)
            ended = self._engine.wait(container_id, timeout)
        finally:
            self._engine.remove(container_id)
        if ended is None:
            raise InfraError(f"a container under '{runtime}' did not finish in {timeout:.0f} s")
        if ended.exit_code != 0:
            raise InfraError(f"a container under '{runtime}' exited with {ended.exit_code}")
        return time.monotonic() - started

    def resolve_runtime(self, requested: str | None) -> str:
        """``requested``, else the engine's default runtime (dockerd's ``default-runtime``):
        a host set up to run everything under gVisor keeps doing so."""
        if requested:
            return requested
        return str(self._engine.info().get("DefaultRuntime") or DEFAULT_RUNTIME)

    def check_runtime(self, runtime: str) -> None:
        missing = missing_runtime(runtime, self.runtimes())
        if missing:
            raise RuntimeUnavailable(missing)

    def check(self, spec: SandboxSpec) -> None:
        self.check_runtime(spec.runtime)
        if spec.limits.gpus == 0:
            return
        if self.runtime_kind(spec.runtime) == GVISOR:
            raise GpuUnavailable(
                f"the bundle asks for {spec.limits.gpus} GPU(s); Airlock gives GPUs to runc "
                f"containers only, not under '{spec.runtime}' (gVisor)"
            )
        problem = gpu_problem(spec, set(self.runtimes()))
        if problem:
            raise GpuUnavailable(problem)

    def start(self, spec: SandboxSpec, cancel: threading.Event) -> DockerSandbox:
        owner = owner_label()
        WATCHDOG.ensure_started(owner, staging.staging_root())
        applied = spec.limits
        lifetime = (
            applied.handshake_seconds
            + applied.fit_seconds
            + applied.predict_seconds
            + limits.SHUTDOWN_GRACE_SECONDS
            + limits.DEADLINE_MARGIN_SECONDS
        )
        labels = {
            limits.LABEL_MANAGED: "1",
            limits.LABEL_OWNER: owner,
            limits.LABEL_DEADLINE: deadline_label(lifetime),
            **spec.labels,
        }
        staged = staging.stage(spec.train_dir)
        kwargs = create_kwargs(dataclasses.replace(spec, train_dir=staged))
        kwargs["labels"] = labels
        try:
            container_id = self._engine.create(kwargs)
        except BaseException:
            staging.discard(staged)
            raise
        WATCHDOG.container_started()
        sock: socket.socket | None = None
        try:
            sock = self._engine.attach(container_id)  # before start: no output is lost
            self._engine.start(container_id)
            pid = self._engine.pid(container_id)
            cgroup = find_cgroup(pid, container_id) if pid else None
            return DockerSandbox(
                self._engine, container_id, sock, cgroup, cancel=cancel, staged=staged
            )
        except BaseException:
            if sock is not None:
                sock.close()
            try:
                with contextlib.suppress(InfraError):
                    self._engine.remove(container_id)
            finally:
                WATCHDOG.container_removed()
                staging.discard(staged)
            raise

    def reap(self, *, everything: bool = False) -> int:
        removed = 0
        for container_id, labels in self._engine.containers_with_label(limits.LABEL_MANAGED):
            if (
                everything
                or owner_is_dead(labels.get(limits.LABEL_OWNER, ""))
                or overdue(labels.get(limits.LABEL_DEADLINE, ""))
            ):
                self._engine.remove(container_id)
                removed += 1
        return removed
