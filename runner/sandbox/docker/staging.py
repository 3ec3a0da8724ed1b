"""A private, closed copy of a fold's training directory for each container.

Bind-mounting the bundle's own files would share one host inode between every container
that mounts them (two runs on the same fold: a lock or inotify channel) and would show the
bundle's host path in the container's /proc/self/mountinfo. So each container gets its own
copy, under a directory with a random name, and the copy stays closed (mode 0700, owned by
the runner, while the submission runs as another user) until the fit phase begins: nothing
the submission does before ``fit`` can read its training data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from runner.errors import InfraError
from runner.sandbox.docker.cleanup import owner_label

STAGING_ENV = "AIRLOCK_STAGING_DIR"
"""Where the copies go (default: the system temp dir). With a remote or containerised
worker it must be a path the engine sees at the same place."""

_CLOSED, _OPEN = 0o700, 0o755


def staging_root() -> Path:
    """This process's staging directory (removed by its watchdog if the process dies)."""
    base = Path(os.environ.get(STAGING_ENV) or tempfile.gettempdir())
    return base / ("airlock-stage-" + owner_label().replace(":", "-"))


def stage(train_dir: Path) -> Path:
    """Copy ``train_dir``'s files into a fresh, closed directory; returns it."""
    root = staging_root()
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fold_dir = Path(tempfile.mkdtemp(prefix="", dir=root))
        target = fold_dir / "train"
        target.mkdir(mode=_CLOSED)
        target.chmod(_CLOSED)
        for source in sorted(train_dir.iterdir()):
            if source.is_file():
                copied = target / source.name
                shutil.copyfile(source, copied)
                copied.chmod(0o444)
    except OSError as exc:
        raise InfraError(f"cannot stage the fold's training data under {root}: {exc}") from exc
    return target


def release(staged: Path) -> None:
    """Open the copy to the container's user (the fit phase has begun)."""
    try:
        staged.chmod(_OPEN)
    except OSError as exc:
        raise InfraError(f"cannot open the staged training data {staged}: {exc}") from exc


def discard(staged: Path) -> None:
    """Remove a copy (idempotent)."""
    shutil.rmtree(staged.parent, ignore_errors=True)
