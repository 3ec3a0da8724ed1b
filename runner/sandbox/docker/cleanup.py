"""Who owns a container, whether that owner is still alive, and when the container is due
(so leftovers can be reaped).

Every container carries ``io.airlock.owner = <host>:<pid>:<process start ticks>`` and
``io.airlock.deadline = <unix time>``. A container whose owner process on this host is gone
(or whose PID was reused by another process) is a leftover of a crashed run, and one past
its deadline outlived every limit of its fold: either may be removed, by any Airlock
process (a run, a worker, ``airlock cleanup --watch``), even when the owner's own watchdog
died with it.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def _start_ticks(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime) follows the parenthesised command name, which may hold spaces.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def owner_label(pid: int | None = None) -> str:
    """This process's owner label."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def deadline_label(seconds_from_now: float) -> str:
    return f"{time.time() + seconds_from_now:.0f}"


def overdue(label: str, now: float | None = None) -> bool:
    """True when the container's deadline has passed (an unreadable one never counts)."""
    try:
        deadline = float(label)
    except ValueError:
        return False
    return (time.time() if now is None else now) > deadline


def owner_is_dead(label: str) -> bool:
    """True when the owner ran on this host and its process no longer exists.

    Containers of other hosts (a shared engine) are never judged dead from here.
    """
    host, _, rest = label.partition(":")
    pid_text, _, ticks = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    current = _start_ticks(int(pid_text))
    return current is None or (ticks not in ("", "?") and current != ticks)
