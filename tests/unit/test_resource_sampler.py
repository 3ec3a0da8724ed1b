"""The sampling both sandboxes share: figures only ever go up, and a missed reading keeps
the last one (a sandbox that died mid-phase still reports what it used)."""

from __future__ import annotations

import threading
import time

import pytest

from runner.errors import Cancelled, DeadlineReached, OutputTooLarge
from runner.sandbox.base import ResourceSample
from runner.sandbox.polling import (
    PENDING_STDOUT_LIMIT,
    ResourceSampler,
    check_pending_stdout,
    time_left,
)


class _Readings(ResourceSampler):
    def __init__(self, readings: list[ResourceSample | None]) -> None:
        super().__init__("test-sampler")
        self._readings = iter(readings)

    def measure(self) -> ResourceSample | None:
        return next(self._readings)


def test_figures_keep_their_highest_value_and_survive_missed_readings() -> None:
    sampler = _Readings(
        [
            ResourceSample(None, None),
            ResourceSample(1.0, 100),
            ResourceSample(0.5, 50),  # a child exited: the group's total dropped
            None,  # the sandbox is gone
            ResourceSample(None, 200),
        ]
    )
    seen = [sampler.sample_now() for _ in range(5)]
    assert seen == [
        ResourceSample(None, None),
        ResourceSample(1.0, 100),
        ResourceSample(1.0, 100),
        ResourceSample(1.0, 100),
        ResourceSample(1.0, 200),
    ]
    assert sampler.last() == ResourceSample(1.0, 200)


def test_time_left_raises_on_cancel_first_then_on_the_deadline() -> None:
    cancel = threading.Event()
    assert 0 < time_left(time.monotonic() + 5, cancel) <= 5
    with pytest.raises(DeadlineReached):
        time_left(time.monotonic() - 0.1, cancel)
    cancel.set()
    with pytest.raises(Cancelled):
        time_left(time.monotonic() + 5, cancel)


def test_pending_stdout_is_cut_off_past_the_limit_with_its_head_quoted() -> None:
    check_pending_stdout(bytearray(b"x" * PENDING_STDOUT_LIMIT))
    with pytest.raises(OutputTooLarge) as raised:
        check_pending_stdout(bytearray(b"y" * (PENDING_STDOUT_LIMIT + 1)))
    assert raised.value.head.startswith(b"yyyy")
