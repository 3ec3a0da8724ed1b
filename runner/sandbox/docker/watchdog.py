"""Kills a runner's containers within seconds of the runner's death, SIGKILL included.

The Docker provider starts one watchdog per runner process: a separate process in its own
session, whose stdin is the read end of a pipe that only the runner holds open. However
the runner ends, the kernel closes its end; the watchdog then reads end-of-file, removes
every container carrying the runner's owner label and the runner's staging directory, and
exits. A runner that ends cleanly with no container left says so first (one byte), and the
watchdog only removes the (empty) staging directory. testcontainers' Ryuk does the same
with a TCP connection to a container; a pipe needs no port and no image.

Run as ``python -m runner.sandbox.docker.watchdog OWNER STAGING_DIR``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

CLEAN_EXIT = b"."


class Watchdog:
    """The runner's side: the pipe's write end and a count of live containers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pipe: int | None = None
        self._pid = 0
        self._live = 0

    def ensure_started(self, owner: str, staging: Path) -> None:
        """Start this process's watchdog once (idempotent, thread-safe, fork-aware)."""
        with self._lock:
            if self._pipe is not None and self._pid == os.getpid():
                return
            read_end, write_end = os.pipe()
            try:
                subprocess.Popen(
                    [sys.executable, "-m", __name__, owner, str(staging)],
                    stdin=read_end,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    cwd="/",
                    env={**os.environ, "PYTHONPATH": _import_path()},
                )
            finally:
                os.close(read_end)
            self._pipe, self._pid, self._live = write_end, os.getpid(), 0
            atexit.register(self._stand_down)

    def container_started(self) -> None:
        with self._lock:
            self._live += 1

    def container_removed(self) -> None:
        with self._lock:
            self._live -= 1

    def _stand_down(self) -> None:
        """At a normal interpreter exit with no container left, nothing needs reaping."""
        with self._lock:
            if self._pipe is None or self._pid != os.getpid() or self._live > 0:
                return
            with contextlib.suppress(OSError):
                os.write(self._pipe, CLEAN_EXIT)


WATCHDOG = Watchdog()
"""The process's one watchdog handle."""


def _import_path() -> str:
    """PYTHONPATH for the watchdog: this package's parent first (works from a checkout)."""
    here = str(Path(__file__).resolve().parents[3])
    current = os.environ.get("PYTHONPATH")
    return f"{here}{os.pathsep}{current}" if current else here


def _reap(owner: str) -> None:
    from runner import limits
    from runner.errors import InfraError
    from runner.sandbox.docker.client import DockerEngine

    try:
        engine = DockerEngine(timeout=30)
        for container_id, labels in engine.containers_with_label(f"{limits.LABEL_OWNER}={owner}"):
            if labels.get(limits.LABEL_OWNER) == owner:
                engine.remove(container_id)
    except InfraError:
        pass  # the next run reaps by owner label as a fallback


def main(argv: list[str]) -> int:
    owner, staging = argv[0], Path(argv[1])
    said = b""
    while chunk := os.read(0, 64):
        said += chunk
    if not said.endswith(CLEAN_EXIT):
        _reap(owner)
    shutil.rmtree(staging, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
