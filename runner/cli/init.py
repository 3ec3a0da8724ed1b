"""``airlock init``: scaffold a submission."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import user_errors


def init(
    name: Annotated[str, typer.Argument(help="Submission (and image) name, e.g. my-model.")],
    template: Annotated[
        str, typer.Option(help="python (scikit-learn logistic regression) or xgboost.")
    ] = "python",
    out: Annotated[Path | None, typer.Option(help="Folder to create (default: ./NAME).")] = None,
) -> None:
    """Create a submission folder: Dockerfile, model.py and README, ready to build.

    It builds and passes a dry run on the sample bundles unchanged.
    """
    from runner.scaffold import scaffold

    target = out or Path(name)
    with user_errors():
        written = scaffold(name, template, target)
    typer.echo(f"created {target}/ ({', '.join(p.name for p in written)})")
    typer.echo("next:")
    typer.echo(f"  cd {target}")
    typer.echo(f"  docker build -t {name} .")
    typer.echo(f"  airlock run --image {name} --bundle <bundle dir>   (see README.md)")
