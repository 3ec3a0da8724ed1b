"""A submission as a plain local process: fast iteration, no isolation at all.

``airlock run --command`` uses this provider so a participant can try a model without
building an image. It speaks the same protocol over pipes and keeps the same deadlines,
but nothing is enforced beyond time: the process sees the network, the host's files (the
whole bundle directory included) and any amount of memory. Results say so
(``isolation: none``) and sealed mode refuses it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import importlib.util
import os
import platform
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from runner import limits
from runner.errors import (
    InfraError,
    OutputTooLarge,
    StreamEnded,
    UsageError,
)
from runner.sandbox.base import (
    ExitInfo,
    ImageInfo,
    ResourceSample,
    Sandbox,
    SandboxProvider,
    SandboxSpec,
)
from runner.sandbox.logs import LogCapture
from runner.sandbox.polling import ResourceSampler, check_pending_stdout, time_left

_READ_BYTES = 1 << 16
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def sdk_path() -> Path | None:
    """Where the Python SDK lives when it is not installed: the repository's images/sdk."""
    if importlib.util.find_spec("airlock_sdk") is not None:
        return None
    candidate = Path(__file__).resolve().parents[2] / "images" / "sdk"
    return candidate if (candidate / "airlock_sdk").is_dir() else None


def _group_usage(pgid: int) -> tuple[float, int]:
    """CPU seconds and resident bytes of every live process in a process group (Linux /proc)."""
    cpu_ticks, rss_pages = 0, 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        # After the command name: state ppid pgrp session ... utime(11) stime(12) ... rss(21)
        if int(fields[2]) != pgid:
            continue
        cpu_ticks += int(fields[11]) + int(fields[12])
        rss_pages += int(fields[21])
    return cpu_ticks / _CLOCK_TICKS, rss_pages * _PAGE_BYTES


class _ProcessSampler(ResourceSampler):
    """Samples the process group so figures survive the process (best effort: CPU of
    children that already exited is not counted)."""

    def __init__(self, pgid: int) -> None:
        super().__init__(f"airlock-process-sampler-{pgid}")
        self._pgid = pgid

    def measure(self) -> ResourceSample:
        return ResourceSample(*_group_usage(self._pgid))


class ProcessSandbox(Sandbox):
    """A child process in its own process group, driven over non-blocking pipes."""

    def __init__(self, process: subprocess.Popen[bytes], cancel: threading.Event) -> None:
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise InfraError("the process was started without pipes")
        self._process = process
        self._stdin, self._stdout, self._stderr = process.stdin, process.stdout, process.stderr
        for stream in (self._stdin, self._stdout, self._stderr):
            os.set_blocking(stream.fileno(), False)
        self._cancel = cancel
        self._pending = bytearray()
        self._log = LogCapture()
        self._open = {self._stdout.fileno(), self._stderr.fileno()}
        self._closed = False
        self._sampler = _ProcessSampler(process.pid)
        self._sampler.start()

    @property
    def log(self) -> LogCapture:
        return self._log

    def _receive(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._open.discard(fd)
            return
        if fd == self._stdout.fileno():
            self._pending += data
            check_pending_stdout(self._pending)
        else:
            self._log.write(data)

    def _pump(self, timeout: float, writing: bool = False) -> bool:
        """Read whatever is ready within ``timeout``; True when stdin can take bytes."""
        readable, writable, _ = select.select(
            list(self._open), [self._stdin] if writing else [], [], timeout
        )
        for fd in readable:
            self._receive(fd)
        return bool(writable)

    def read_stdout(self, deadline: float) -> bytes:
        while True:
            if self._pending:
                data = bytes(self._pending)
                self._pending.clear()
                return data
            if self._stdout.fileno() not in self._open:
                raise StreamEnded("stdout closed")
            self._pump(min(time_left(deadline, self._cancel), limits.POLL_SECONDS))

    def send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            if self._process.poll() is not None and self._stdout.fileno() not in self._open:
                raise StreamEnded("the process ended while receiving input")
            if self._pump(
                min(time_left(deadline, self._cancel), limits.POLL_SECONDS), writing=True
            ):
                try:
                    view = view[os.write(self._stdin.fileno(), view[:_READ_BYTES]) :]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:  # EPIPE: the process closed its stdin
                    raise StreamEnded(f"stdin closed: {exc.strerror or exc}") from exc

    def release_training(self) -> None:
        """Nothing to release: a local process reads the bundle directly (not sealed)."""

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._stdin.close()

    def drain(self, deadline: float) -> None:
        while self._open and time.monotonic() < deadline and not self._cancel.is_set():
            with contextlib.suppress(OutputTooLarge):
                self._pump(limits.POLL_SECONDS)
            self._pending.clear()

    def wait(self, timeout: float) -> ExitInfo | None:
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        # Report death by signal the way a container engine does: 128 + the signal number.
        return ExitInfo(128 - code if code < 0 else code, oom_killed=False)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)

    def resources(self) -> ResourceSample:
        return self._sampler.sample_now()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sampler.stop()
        self.kill()  # the whole group: children the submission left behind too
        for stream in (self._stdin, self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(_EXIT_WAIT_SECONDS)


_EXIT_WAIT_SECONDS = 5.0


class ProcessProvider(SandboxProvider):
    """Runs ``command`` (split like a shell would, never through one) in ``workdir``."""

    name = "process"
    isolated = False

    def __init__(self, command: str, workdir: Path) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"--command {command!r}: {exc}") from None
        if not self.argv:
            raise UsageError("--command is empty")
        self.command = command
        self.workdir = workdir.resolve()
        if not self.workdir.is_dir():
            raise UsageError(f"--workdir {workdir}: not a directory")
        self._check_program()

    def describe_image(self, ref: str) -> ImageInfo:
        """The command stands in for an image; its id ties results to command and folder."""
        digest = hashlib.sha256(f"{self.command}\0{self.workdir}".encode()).hexdigest()
        return ImageInfo(
            ref=f"command: {self.command}",
            id=f"process:{digest[:16]}",
            repo_digests=[],
            user=getpass.getuser(),
            labels={"io.airlock.workdir": str(self.workdir)},
        )

    def check(self, spec: SandboxSpec) -> None:
        """Nothing to check per fold: a local process has whatever the host has."""

    def _check_program(self) -> None:
        """The program must exist before anything starts."""
        program = self.argv[0]
        if os.sep in program:
            path = self.workdir / program
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise UsageError(f"--command: {path} is not an executable file")
        elif shutil.which(program) is None:
            raise UsageError(f"--command: {program!r} is not on PATH")

    def train_path(self, spec: SandboxSpec) -> str:
        return str(spec.train_dir.resolve())

    def start(self, spec: SandboxSpec, cancel: threading.Event) -> ProcessSandbox:
        env = dict(os.environ)
        threads = str(max(1, int(-(-spec.limits.cpus // 1))))
        env.update(
            AIRLOCK_TRAIN_DIR=self.train_path(spec),
            OMP_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            PYTHONUNBUFFERED="1",
        )
        extra = sdk_path()
        if extra is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(extra), env.get("PYTHONPATH", "")) if p
            )
        try:
            # The participant's own command, by design; never through a shell.
            process = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group: kill() reaches its children
            )
        except OSError as exc:
            raise InfraError(
                f"cannot start {self.argv[0]!r} in {self.workdir}: {exc.strerror or exc}"
            ) from None
        return ProcessSandbox(process, cancel)

    def reap(self, *, everything: bool = False) -> int:
        """Processes die with their session (close kills the group): nothing to reap."""
        return 0

    def engine_description(self) -> str:
        return f"local process, no isolation ({platform.system()} {platform.release()})"
