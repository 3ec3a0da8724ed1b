"""Who owns a container, and whether that owner is still alive (so leftovers can be reaped).

Every container carries ``io.airlock.owner = <host>:<pid>:<process start ticks>``. A
container whose owner process on this host is gone (or whose PID was reused by another
process) is a leftover of a crashed run and may be removed.
"""

from __future__ import annotations

import os
import socket
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
