"""When folds of one submission may run at the same time on one host.

Two containers on one kernel share what no sandbox setting separates: CPU time, memory
pressure, and the kernel's global counters that /proc shows every container (processes
forked, context switches, free memory). A submission whose folds run at the same time can
signal through them from one fold (whose training labels include another fold's test
labels) to the other. The schedule closes that by never overlapping such folds:

- ``concurrent``: folds of a submission may overlap (dry runs: the participant's own data);
- ``one-per-submission``: at most one fold of a submission at a time on this host, whatever
  process runs it (closes the channels between folds running at the same time, not the
  ones a fold leaves behind for the next: the page cache of the image's files);
- ``one-per-host``: at most one fold of any submission at a time on this host, and the
  host's caches emptied before each (runner/sandbox/docker/pagecache.py): the default of
  sealed runs and of workers.

The slots are ``flock`` locks on files in :data:`LOCK_DIR_ENV` (default /run/airlock/locks,
or the system temp dir when that cannot be made), which containers never see.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from runner import limits
from runner.errors import Cancelled, InfraError

LOCK_DIR_ENV = "AIRLOCK_LOCK_DIR"
DEFAULT_LOCK_DIR = Path("/run/airlock/locks")


class FoldSchedule(StrEnum):
    CONCURRENT = "concurrent"
    ONE_PER_SUBMISSION = "one-per-submission"
    ONE_PER_HOST = "one-per-host"

    @classmethod
    def default(cls, sealed: bool) -> FoldSchedule:
        return cls.ONE_PER_HOST if sealed else cls.CONCURRENT


def lock_dir() -> Path:
    configured = os.environ.get(LOCK_DIR_ENV)
    candidates = [Path(configured)] if configured else [DEFAULT_LOCK_DIR]
    candidates.append(Path(tempfile.gettempdir()) / "airlock-locks")
    for candidate in candidates:
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    raise InfraError(f"no writable directory for fold locks (tried {candidates})")


@contextlib.contextmanager
def fold_slot(schedule: FoldSchedule, submission: str, cancel: threading.Event) -> Iterator[None]:
    """Hold this host's slot for one fold of ``submission`` (an image id) while it runs.

    Waits (checking ``cancel``) while another fold holds it; the wait does not count
    against the fold's time limits, which start with its container.
    """
    if schedule is FoldSchedule.CONCURRENT:
        yield
        return
    key = "host" if schedule is FoldSchedule.ONE_PER_HOST else submission
    name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
    path = lock_dir() / name
    try:
        handle = path.open("a")
    except OSError as exc:
        raise InfraError(f"cannot open the fold lock {path}: {exc}") from exc
    with handle:
        while True:
            if cancel.is_set():
                raise Cancelled("run interrupted")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(limits.POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def container_turn(turns: threading.Semaphore, cancel: threading.Event) -> Iterator[None]:
    """One of a run's ``--jobs`` turns to have a container: a run's folds queue here, so the
    next fold's container starts while the last one is still being scored."""
    while not turns.acquire(timeout=limits.POLL_SECONDS):
        if cancel.is_set():
            raise Cancelled("run interrupted")
    try:
        yield
    finally:
        turns.release()
