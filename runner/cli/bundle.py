"""``airlock bundle ...``: make, check and list task bundles (``bundle import`` is in
:mod:`runner.cli.bundle_import`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.bundle_import import import_app
from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail, output_console, user_errors
from runner.cli.shapes import (
    BundleListItemJSON,
    BundleListJSON,
    ProblemJSON,
    QuietOption,
    ValidatedBundleJSON,
    ValidateJSON,
    json_help,
    note,
    print_json,
)

if TYPE_CHECKING:
    from runner.bundle.listing import ListedBundle
    from runner.bundle.new import Plan
    from runner.bundle.problems import Problem

app = typer.Typer(help="Create, validate and list task bundles.", no_args_is_help=True)
app.add_typer(import_app, name="import")


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


@app.command("new")
def new(
    config: Annotated[
        Path, typer.Argument(help="YAML naming the task and its CSV files (docs/organizers.md).")
    ],
    out: Annotated[Path, typer.Option(help="Bundle directory to create.")],
    sealed_out: Annotated[
        Path | None,
        typer.Option(
            help="Where the test labels go, apart from the bundle (default: OUT.sealed next "
            "to it). Never give this directory to participants."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUT (and the sealed directory) if present.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only `OUT  HASH` (and warnings and errors), no fold table."
        ),
    ] = False,
) -> None:
    """Turn CSV tables and a split (a small YAML) into a validated bundle.

    The sources: one table with every column (table:), or feature, label and meta files.

    The test labels are written apart, to the sealed directory.
    """
    from runner.bundle.new import SourceProblems, plan_bundle
    from runner.bundle.validate import validate_bundle

    sealed_dir = sealed_out or out.with_name(f"{out.name}.sealed")
    for target in (out, sealed_dir):
        if target.exists() and not force:
            raise fail(f"{target} already exists; choose another path or add --force", EXIT_USAGE)
    try:
        plan = plan_bundle(config)
    except SourceProblems as exc:
        raise _source_problems(config, exc.problems) from None
    for warning in plan.warnings:
        typer.echo(f"airlock: warning: {warning}", err=True)
    with user_errors():
        bundle_hash = plan.write(out, sealed_dir)
    _refuse_invalid(out, validate_bundle(out, sealed_dir))
    if quiet:
        typer.echo(f"{out}  {bundle_hash}")
        return
    _print_made(plan, out, sealed_dir, bundle_hash)


def _refuse_invalid(out: Path, problems: list[Problem]) -> None:
    """A bundle written from clean sources must validate; if not, that is our bug."""
    for problem in problems:
        fail(str(problem), EXIT_FAILED)  # one line each; the summary below exits
    if problems:
        raise fail(
            f"{out}: written but invalid ({len(problems)} problem(s) above); please report "
            "this with your YAML, and do not give the bundle to participants",
            EXIT_FAILED,
        )


def _print_made(plan: Plan, out: Path, sealed_dir: Path, bundle_hash: str) -> None:
    """The folds written, where the bundle and its labels are, and how to run it."""
    from rich.table import Table

    table = Table("fold", "train", "test", title=f"{plan.spec.id} ({plan.spec.split.kind})")
    for fold in plan.folds:
        table.add_row(fold.id, str(len(fold.train)), str(len(fold.test)))
    output_console().print(table)
    typer.echo(f"bundle: {out}  {bundle_hash}")
    typer.echo(f"sealed labels: {sealed_dir}  (keep them away from participants)")
    typer.echo(f"run: airlock run --image IMAGE --bundle {out} --sealed {sealed_dir}")


def _source_problems(config: Path, problems: list[Problem]) -> typer.Exit:
    """One error line per problem in the sources; the last line says what to do."""
    if len(problems) == 1:
        return fail(f"{problems[0]}; nothing written, fix it and run again", EXIT_USAGE)
    for problem in problems:
        fail(str(problem), EXIT_USAGE)  # printed now; the summary below is the exit
    return fail(
        f"{config}: {len(problems)} problems in the sources (above); nothing written, "
        "fix them and run again",
        EXIT_USAGE,
    )


@app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Bundle directories.")],
    sealed: Annotated[
        Path | None,
        typer.Option(
            help="Directory of sealed labels (<fold>/y.csv and SALT) if kept apart, or of "
            "such directories named by bundle id."
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Check a bundle as published to participants, without its sealed labels: "
            "every public file, and a sealed commitment in the manifest for every fold.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=json_help(ValidateJSON))] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the problems (and warnings and errors): no ok lines."
        ),
    ] = False,
) -> None:
    """Check bundles: one line per problem (file, line, column, what was expected).

    Exit code 1 when any problem is found.
    """
    if public and sealed is not None:
        raise fail(
            "--public checks a bundle without its sealed labels; drop --sealed (or --public)",
            EXIT_USAGE,
        )
    checked = [_validate_one(path, sealed, public, as_json, quiet) for path in paths]
    failed = sum(1 for item in checked if not item["ok"])
    if as_json:
        print_json(ValidateJSON(ok=not failed, bundles=checked))
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _validate_one(
    path: Path, sealed: Path | None, public: bool, as_json: bool, quiet: bool
) -> ValidatedBundleJSON:
    """Check one bundle and print its problems (unless --json) and its summary line."""
    from runner.bundle import manifest
    from runner.bundle.problems import display_path
    from runner.bundle.validate import validate_bundle

    problems = validate_bundle(path, sealed, public=public)
    if not as_json:
        for problem in problems:
            typer.echo(str(problem))
    if not quiet:
        typer.echo(f"{path}: {len(problems)} problem(s)" if problems else f"{path}: ok", err=True)
    if public and (path / manifest.SEALED_DIR_NAME).exists():
        typer.echo(
            f"airlock: warning: {path / manifest.SEALED_DIR_NAME} exists and was not "
            "checked; remove it before giving the bundle to participants",
            err=True,
        )
    return ValidatedBundleJSON(
        path=str(path),
        ok=not problems,
        problems=[
            ProblemJSON(file=display_path(p.path), line=p.line, column=p.column, message=p.message)
            for p in problems
        ],
    )


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
    as_json: Annotated[bool, typer.Option("--json", help=json_help(BundleListJSON))] = False,
    quiet: QuietOption = False,
) -> None:
    """List the bundles below a directory with their task, folds and hash."""
    from runner.bundle.listing import bundles_below

    listed = [_listed_json(item) for item in bundles_below(root)]
    if not listed:
        raise fail(
            f"no bundles (*/bundle.yaml) below {root}; give the directory that holds them, "
            "or make one with `airlock bundle new` or `airlock bundle synth`",
            EXIT_USAGE,
        )
    invalid = [item["path"] for item in listed if not item["valid"]]
    if invalid:
        note(
            f"{len(invalid)} invalid bundle(s); `airlock bundle validate {invalid[0]}` "
            "lists every problem",
            quiet,
        )
    if as_json:
        print_json(BundleListJSON(root=str(root), bundles=listed))
        return
    _print_listing(listed)


def _listed_json(item: ListedBundle) -> BundleListItemJSON:
    spec = item.spec
    return BundleListItemJSON(
        path=str(item.path),
        id=spec.id if spec else None,
        valid=spec is not None,
        task_type=str(spec.task_type) if spec else None,
        folds=len(spec.folds) if spec else None,
        primary_metric=spec.metrics.primary if spec else None,
        hash=item.bundle_hash,
        title=spec.title if spec else None,
        problem=item.problem,
    )


def _print_listing(listed: list[BundleListItemJSON]) -> None:
    """One table row per bundle; an invalid one shows its first problem."""
    from rich.markup import escape
    from rich.table import Table

    table = Table("bundle", "task", "folds", "primary metric", "hash", "title")
    for item in listed:
        if not item["valid"]:
            name = Path(item["path"]).name
            table.add_row(
                escape(name), "[red]invalid[/red]", "", "", "", escape(item["problem"] or "")
            )
            continue
        table.add_row(
            escape(item["id"] or ""),
            item["task_type"],
            str(item["folds"]),
            item["primary_metric"],
            item["hash"][7:19] if item["hash"] else "-",
            escape(item["title"] or ""),
        )
    output_console().print(table)
