"""Emptying the host's caches between folds, so no fold finds what the previous one left.

Every container of an image reads the same host files (the image's layers), so the pages
one fold loads stay in the host's page cache for the next fold to find (``mincore`` on a
file its image owns, or the time a read takes): a channel from fold to fold that outlives
every container; path lookups leave dentries behind the same way. Before each fold of the
``one-per-host`` schedule, nothing else runs on the host, and the runner drops them all:

- as root on the engine's host: ``/proc/sys/vm/drop_caches`` (page cache, dentries and
  inodes, everything clean; 0.1-1.5 s here);
- otherwise, where the engine's layer directories are visible: ``POSIX_FADV_DONTNEED`` on
  every file of the image's layers (about 1-2 s for the 46,000 files of the scientific
  Python image here; dentries stay).

Either way the fold then starts cold (about 2 s more for that image here).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from runner.errors import InfraError

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def can_drop_caches() -> bool:
    return os.geteuid() == 0 and os.access(DROP_CACHES, os.W_OK)


def forget_host_caches(layer_dirs: list[str]) -> float:
    """Drop what the host caches of earlier folds; returns the seconds it took.

    Raises:
        InfraError: when neither way is open here (then one-per-host cannot keep its word).
    """
    started = time.monotonic()
    if can_drop_caches():
        try:
            DROP_CACHES.write_text("3\n")
        except OSError as exc:
            raise InfraError(f"cannot drop the host's caches ({DROP_CACHES}): {exc}") from exc
        return time.monotonic() - started
    visible = [d for d in layer_dirs if os.path.isdir(d)]
    if not visible:
        raise InfraError(
            "the one-per-host schedule empties the host's page cache between folds, and this "
            "runner can do neither way: run it as root on the engine's host, or where the "
            "engine's data root (its image layers) is visible"
        )
    for directory in visible:
        _evict_tree(directory)
    return time.monotonic() - started


def _evict_tree(directory: str) -> None:
    for root, _dirs, files in os.walk(directory):
        for name in files:
            try:
                fd = os.open(os.path.join(root, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            finally:
                os.close(fd)
