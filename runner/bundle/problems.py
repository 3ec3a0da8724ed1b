"""One problem found in a bundle (or in the sources of one), formatted as a single line a
user can act on."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runner.errors import BundleError


@dataclass(frozen=True)
class Problem:
    """What is wrong (``message``), in which file, and where in it (line and column)."""

    path: Path
    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [display_path(self.path)]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


class SourceProblems(BundleError):
    """The sources cannot make a bundle; ``problems`` lists every reason, one line each."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else "invalid sources")
        self.problems = problems
