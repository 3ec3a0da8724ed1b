"""What every sandbox's I/O loop shares, whatever carries the bytes: the deadline and
cancel check, the cap on unrequested stdout, and background resource sampling."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import TypeVar

from runner import limits
from runner.errors import Cancelled, DeadlineReached, OutputTooLarge
from runner.sandbox.base import ResourceSample

PENDING_STDOUT_LIMIT = limits.MAX_CONTROL_MESSAGE_BYTES + 4 * 65536
"""Stdout bytes a sandbox may buffer before anyone asks for them (a flood is cut off).
A submission answers only after reading a whole message, so little ever waits here."""


def time_left(deadline: float, cancel: threading.Event) -> float:
    """Seconds until ``deadline``; raise when the run was cancelled or the time is up."""
    if cancel.is_set():
        raise Cancelled("run interrupted")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineReached("deadline reached")
    return remaining


def check_pending_stdout(pending: bytearray) -> None:
    """Raise OutputTooLarge once buffered stdout passes PENDING_STDOUT_LIMIT."""
    if len(pending) > PENDING_STDOUT_LIMIT:
        raise OutputTooLarge(
            f"more than {PENDING_STDOUT_LIMIT} bytes on stdout without being asked",
            head=bytes(pending[: limits.QUOTE_BYTES]),
            limit=PENDING_STDOUT_LIMIT,
        )


class ResourceSampler(threading.Thread, ABC):
    """Samples in the background so a sandbox that dies mid-phase still leaves figures at
    most one interval old. Keeps the highest CPU and memory seen: a process group's CPU
    total drops when a child exits, and peak memory must never go down."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._last = ResourceSample(None, None)

    @abstractmethod
    def measure(self) -> ResourceSample | None:
        """A fresh reading, or None when none can be had now."""

    def sample_now(self) -> ResourceSample:
        fresh = self.measure()
        with self._lock:
            if fresh is not None:
                self._last = ResourceSample(
                    _highest(fresh.cpu_seconds, self._last.cpu_seconds),
                    _highest(fresh.peak_memory_bytes, self._last.peak_memory_bytes) or None,
                )
            return self._last

    def last(self) -> ResourceSample:
        with self._lock:
            return self._last

    def run(self) -> None:
        while not self._stop_event.wait(limits.RESOURCE_SAMPLE_SECONDS):
            self.sample_now()

    def stop(self) -> None:
        self._stop_event.set()


_Number = TypeVar("_Number", int, float)


def _highest(a: _Number | None, b: _Number | None) -> _Number | None:
    if a is None:
        return b
    return a if b is None else max(a, b)
