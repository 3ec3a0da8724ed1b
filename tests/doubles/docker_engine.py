"""An engine double for the Docker sandbox, as httpx's MockTransport is for its clients.

It answers the calls ``runner.sandbox.docker.sandbox`` makes of
``runner.sandbox.docker.client.DockerEngine`` (create, attach, start, wait, kill, remove...)
without a Docker engine: a "container" is a local process (the program an image name maps
to), and its attach stream is one end of a socket pair, carrying stdin in and stdout and
stderr out in Docker's multiplexed frames, closing when the process's output ends. So the
sandbox's own stream loop, deadlines, kill-while-draining and exit handling run for real
against it, in unit tests, and the same cases run against a real engine
(tests/integration/test_sandbox_conformance.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from runner.errors import ImageUnavailable
from runner.sandbox.base import ExitInfo, ImageInfo, ResourceSample

_FRAME = struct.Struct(">BxxxL")
_CHUNK = 1 << 16


@dataclass
class _Container:
    argv: list[str]
    env: dict[str, str]
    labels: dict[str, str]
    runner_end: socket.socket
    engine_end: socket.socket
    process: subprocess.Popen[bytes] | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    send_lock: threading.Lock = field(default_factory=threading.Lock)


class FakeEngine:
    """``images`` maps an image reference to the command its "containers" run."""

    def __init__(self, images: dict[str, list[str]]) -> None:
        self._images = images
        self._containers: dict[str, _Container] = {}
        self.created: list[dict[str, Any]] = []
        """The create() arguments, as the engine would have received them."""

    # --- what DockerProvider asks of an engine ---------------------------------------------
    def version(self) -> str:
        return "engine double"

    def versions(self) -> dict[str, Any]:
        return {"Version": "double", "ApiVersion": "1.41"}

    def info(self) -> dict[str, Any]:
        return {"Runtimes": {"runc": {}}}

    def runtimes(self) -> dict[str, Any]:
        return {"runc": {"path": "runc"}}

    def image(self, ref: str) -> ImageInfo:
        if ref not in self._images:
            raise ImageUnavailable(f"image {ref!r} is not on this engine double")
        return ImageInfo(ref=ref, id=ref, repo_digests=[], user="", labels={})

    def has_image(self, ref: str) -> bool:
        return ref in self._images

    def create(self, kwargs: dict[str, Any]) -> str:
        self.created.append(kwargs)
        runner_end, engine_end = socket.socketpair()
        container_id = uuid.uuid4().hex
        self._containers[container_id] = _Container(
            argv=self._images[kwargs["image"]],
            env={**os.environ, **kwargs.get("environment", {})},
            labels=dict(kwargs.get("labels", {})),
            runner_end=runner_end,
            engine_end=engine_end,
        )
        return container_id

    def attach(self, container_id: str) -> socket.socket:
        return self._containers[container_id].runner_end

    def start(self, container_id: str) -> None:
        box = self._containers[container_id]
        box.process = subprocess.Popen(
            box.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=box.env,
            start_new_session=True,
        )
        process = box.process
        outputs = [
            threading.Thread(target=self._pump_out, args=(box, process.stdout, 1), daemon=True),
            threading.Thread(target=self._pump_out, args=(box, process.stderr, 2), daemon=True),
        ]
        box.threads = [
            threading.Thread(target=self._pump_in, args=(box,), daemon=True),
            *outputs,
            threading.Thread(target=self._close_when_done, args=(box, outputs), daemon=True),
        ]
        for thread in box.threads:
            thread.start()

    def pid(self, container_id: str) -> int:
        process = self._containers[container_id].process
        return process.pid if process is not None else 0

    def exit_info(self, container_id: str) -> ExitInfo | None:
        process = self._containers[container_id].process
        if process is None or process.poll() is None:
            return None
        code = process.returncode
        return ExitInfo(exit_code=128 - code if code < 0 else code, oom_killed=False)

    def wait(self, container_id: str, timeout: float) -> ExitInfo | None:
        process = self._containers[container_id].process
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(timeout, 0.01))
        return self.exit_info(container_id)

    def kill(self, container_id: str) -> None:
        process = self._containers[container_id].process
        if process is not None and process.poll() is None:
            process.kill()

    def remove(self, container_id: str) -> None:
        box = self._containers.pop(container_id, None)
        if box is None:
            return
        if box.process is not None and box.process.poll() is None:
            box.process.kill()
            box.process.wait()
        for end in (box.engine_end, box.runner_end):
            with contextlib.suppress(OSError):
                end.close()

    def stats(self, container_id: str) -> ResourceSample | None:
        return None

    def containers_with_label(self, label: str) -> list[tuple[str, dict[str, str]]]:
        key, _, value = label.partition("=")
        return [
            (container_id, box.labels)
            for container_id, box in self._containers.items()
            if key in box.labels and (not value or box.labels[key] == value)
        ]

    # --- the attach stream ------------------------------------------------------------------
    def _pump_in(self, box: _Container) -> None:
        """Runner -> stdin; the runner's half-close closes stdin."""
        assert box.process is not None and box.process.stdin is not None
        stdin = box.process.stdin
        with contextlib.suppress(OSError):
            while data := box.engine_end.recv(_CHUNK):
                stdin.write(data)
                stdin.flush()
        with contextlib.suppress(OSError):
            stdin.close()

    def _pump_out(self, box: _Container, stream: Any, stream_id: int) -> None:
        """stdout (1) or stderr (2) -> framed, as Docker multiplexes them."""
        with contextlib.suppress(OSError):
            while data := os.read(stream.fileno(), _CHUNK):
                with box.send_lock:
                    box.engine_end.sendall(_FRAME.pack(stream_id, len(data)) + data)

    @staticmethod
    def _close_when_done(box: _Container, outputs: list[threading.Thread]) -> None:
        """The attach stream ends once the process's output has ended, as Docker's does."""
        for thread in outputs:
            thread.join()
        with contextlib.suppress(OSError):
            box.engine_end.shutdown(socket.SHUT_WR)
