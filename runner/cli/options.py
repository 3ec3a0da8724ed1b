"""Options shared by several commands, declared once so they read and behave the same."""

from __future__ import annotations

from typing import Annotated

import typer

RuntimeOption = Annotated[
    str,
    typer.Option(
        envvar="AIRLOCK_RUNTIME",
        help="Container runtime of every fold: runc, or runsc for gVisor's user-space kernel "
        "(set up by scripts/ensure-gvisor.sh; docs/security.md). Recorded with each fold.",
    ),
]
