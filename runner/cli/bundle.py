"""``airlock bundle ...``: make, check and list task bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail, output_console, user_errors

app = typer.Typer(help="Create, validate and list task bundles.", no_args_is_help=True)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option(help="Directory to write the sample bundles into.")] = Path(
        "task_bundles"
    ),
    only: Annotated[
        list[str] | None, typer.Option(help="Generate only these bundles (repeatable).")
    ] = None,
) -> None:
    """Generate the synthetic sample bundles (deterministic; labelled as synthetic)."""
    from runner.bundle.synth import GENERATORS

    names = only or list(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        raise fail(
            f"unknown sample bundle(s) {unknown}; choose from {list(GENERATORS)}", EXIT_USAGE
        )
    for name in names:
        bundle_hash = GENERATORS[name](out / name)
        typer.echo(f"{out / name}  {bundle_hash}")


@app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Bundle directories.")],
    sealed: Annotated[
        Path | None,
        typer.Option(help="Directory of sealed labels (<fold>/y.csv and SALT) if kept apart."),
    ] = None,
) -> None:
    """Check bundles: one line per problem (file, line, column, what was expected).

    Exit code 1 when any problem is found.
    """
    from runner.bundle.validate import validate_bundle

    failed = 0
    for path in paths:
        problems = validate_bundle(path, sealed)
        for problem in problems:
            typer.echo(str(problem))
        if problems:
            failed += 1
            typer.echo(f"{path}: {len(problems)} problem(s)", err=True)
        else:
            typer.echo(f"{path}: ok", err=True)
    if failed:
        raise typer.Exit(EXIT_FAILED)


@app.command("manifest")
def write_manifest_command(
    path: Annotated[Path, typer.Argument(help="Bundle directory.")],
    sealed: Annotated[
        Path | None, typer.Option(help="Sealed labels directory if kept apart.")
    ] = None,
) -> None:
    """(Re)write MANIFEST.sha256 after editing a bundle; prints the new bundle hash."""
    from runner.bundle import manifest
    from runner.bundle.load import read_spec

    with user_errors():
        spec, problems = read_spec(path)
        if spec is None:
            raise fail(str(problems[0]), EXIT_USAGE)
        sealed_dir = sealed or path / manifest.SEALED_DIR_NAME
        if not (sealed_dir / manifest.SALT_NAME).is_file():
            manifest.write_salt(sealed_dir)
        try:
            bundle_hash = manifest.write_manifest(path, sealed_dir, spec.folds)
        except (OSError, ValueError) as exc:
            raise fail(f"{path}: cannot write the manifest: {exc}", EXIT_USAGE) from None
    typer.echo(f"{path}  {bundle_hash}")


@app.command("list")
def list_bundles(
    root: Annotated[Path, typer.Argument(help="Directory holding bundles.")] = Path("task_bundles"),
) -> None:
    """List the bundles below a directory with their task, folds and hash."""
    from rich.table import Table

    from runner.bundle import manifest
    from runner.bundle.load import read_spec

    table = Table("bundle", "task", "folds", "primary metric", "hash", "title")
    found = 0
    for spec_path in sorted(root.glob("*/bundle.yaml")):
        spec, problems = read_spec(spec_path.parent)
        if spec is None:
            table.add_row(spec_path.parent.name, "[red]invalid[/red]", "", "", "", str(problems[0]))
            continue
        manifest_path = spec_path.parent / manifest.MANIFEST_NAME
        digest = manifest.bundle_hash(manifest_path)[7:19] if manifest_path.is_file() else "-"
        table.add_row(
            spec.id,
            str(spec.task_type),
            str(len(spec.folds)),
            spec.metrics.primary,
            digest,
            spec.title,
        )
        found += 1
    if not found and not table.rows:
        raise fail(f"no bundles (*/bundle.yaml) below {root}", EXIT_USAGE)
    output_console().print(table)
