"""Options shared by several commands, declared once so they read and behave the same."""

from __future__ import annotations

from typing import Annotated

import typer

RuntimeOption = Annotated[
    str | None,
    typer.Option(
        help="Container runtime of every fold: runc, or runsc for gVisor's user-space kernel "
        "(set up by scripts/ensure-gvisor.sh; docs/security.md). Default: the engine's "
        "default runtime (runc unless dockerd sets default-runtime). Recorded with each fold.",
    ),
]
