"""The ``airlock`` command. Commands are thin: parse, call the package, print, exit.

Heavy modules (docker, numpy, pandas) are imported inside commands so ``--help`` is instant.
"""

from __future__ import annotations

from typing import Annotated

import typer

from runner.cli import bundle as bundle_commands
from runner.cli import competition as competition_commands
from runner.cli import doctor as doctor_commands
from runner.cli import init as init_commands
from runner.cli import pool as pool_commands
from runner.cli import reproduce as reproduce_commands
from runner.cli import results as results_commands
from runner.cli import run as run_commands
from runner.cli import score as score_commands
from runner.cli import upkeep as upkeep_commands

app = typer.Typer(
    name="airlock",
    help="Run sealed fit/predict submissions in containers and score them against sealed labels.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from runner import __version__

        typer.echo(f"airlock {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print `airlock <version>` and exit.",
        ),
    ] = False,
) -> None:
    """Options before the command (the summary is the app's help above)."""


app.add_typer(bundle_commands.app, name="bundle")
app.add_typer(results_commands.app, name="results")
app.add_typer(score_commands.app, name="score")
run_commands.register(app)
upkeep_commands.register(app)
app.command("publish")(results_commands.publish)
app.command("leaderboard")(results_commands.leaderboard)
pool_commands.register(app)
app.command("doctor")(doctor_commands.doctor)
app.command("init")(init_commands.init)
app.command("reproduce")(reproduce_commands.reproduce)
competition_commands.register(app)


def main() -> None:
    app()
