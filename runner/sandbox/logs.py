"""Bounded capture of a submission's stderr: the head and the tail, never more."""

from __future__ import annotations

import threading

from runner import limits
from runner.untrusted import shown


class LogCapture:
    """Keeps the first and last ``budget / 2`` bytes of a stream and counts the rest.

    A submission that writes gigabytes to stderr costs the runner at most ``budget`` bytes.
    """

    def __init__(self, budget: int = limits.LOG_CAPTURE_BYTES) -> None:
        self._half = max(budget // 2, 1)
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        return self._total

    @property
    def omitted_bytes(self) -> int:
        return self._total - len(self._head) - min(len(self._tail), self._half)

    def write(self, data: bytes) -> None:
        with self._lock:
            self._total += len(data)
            room = self._half - len(self._head)
            if room > 0:
                self._head += data[:room]
                data = data[room:]
            if data:
                self._tail += data
                if len(self._tail) > 2 * self._half:
                    del self._tail[: len(self._tail) - self._half]

    def _tail_bytes(self) -> bytes:
        return bytes(self._tail[-self._half :])

    def text(self) -> str:
        """Everything kept, with a marker where bytes were left out."""
        with self._lock:
            head, tail, omitted = bytes(self._head), self._tail_bytes(), self.omitted_bytes
        marker = f"\n[airlock: {omitted} bytes of stderr omitted]\n" if omitted else ""
        return (head + marker.encode() + tail).decode("utf-8", errors="replace")

    def tail_lines(self, count: int) -> list[str]:
        """The last ``count`` lines, each escaped and cut to 300 characters (they are shown
        on terminals and in results: see runner/untrusted.py)."""
        if count <= 0:
            return []
        with self._lock:
            kept = (
                bytes(self._head) + self._tail_bytes()
                if not self.omitted_bytes
                else self._tail_bytes()
            )
        lines = kept.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        return [shown(line.rstrip(b"\r"), 300) for line in lines[-count:]]
