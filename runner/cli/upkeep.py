"""``airlock schema`` and ``airlock cleanup``: the project's contracts, and the engine's
leftovers."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import user_errors


class SchemaName(StrEnum):
    result = "result"
    protocol = "protocol"
    bundle = "bundle"
    competition = "competition"


def schema(
    name: Annotated[SchemaName, typer.Argument(help="Which schema.")],
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of results, protocol messages or bundle.yaml."""
    from runner.schemas import schema_for

    text = json.dumps(schema_for(name.value), indent=2, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)


def cleanup(
    all_containers: Annotated[
        bool, typer.Option("--all", help="Remove every Airlock container, not only dead runs'.")
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Keep reaping every --interval seconds until stopped: run it as its own "
            "service beside the runners and workers of a host.",
        ),
    ] = False,
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between rounds.")] = 5.0,
) -> None:
    """Remove containers of runs that died or that outlived their deadline (or all)."""
    import time

    from runner.sandbox.providers import provider_for

    with user_errors():
        provider = provider_for("docker")
        while True:
            removed = provider.reap(everything=all_containers)
            if not watch:
                break
            if removed:
                typer.echo(f"removed {removed} container(s)")
            time.sleep(interval)
    typer.echo(f"removed {removed} container(s)")


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
    app.command("cleanup")(cleanup)
