"""``airlock bundle ...``: make, check and list task bundles."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail, output_console, user_errors
from runner.cli.results import (
    QUIET_HELP,
    BundleListItemJSON,
    BundleListJSON,
    ProblemJSON,
    ValidatedBundleJSON,
    ValidateJSON,
    json_help,
    note,
    print_json,
)

if TYPE_CHECKING:
    from runner.bundle.problems import Problem

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
    from rich.table import Table

    from runner.bundle.new import SourceProblems, plan_bundle
    from runner.bundle.validate import validate_bundle
    from runner.bundle.write import write_bundle

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
        bundle_hash = write_bundle(
            out, plan.spec, plan.data, plan.folds, float_format="{!r}", sealed_out=sealed_dir
        )
    problems = validate_bundle(out, sealed_dir)
    for problem in problems:
        fail(str(problem), EXIT_FAILED)  # one line each; the summary below exits
    if problems:
        raise fail(
            f"{out}: written but invalid ({len(problems)} problem(s) above); please report "
            "this with your YAML, and do not give the bundle to participants",
            EXIT_FAILED,
        )
    if quiet:
        typer.echo(f"{out}  {bundle_hash}")
        return
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
    from runner.bundle import manifest
    from runner.bundle.problems import display_path
    from runner.bundle.validate import validate_bundle

    if public and sealed is not None:
        raise fail(
            "--public checks a bundle without its sealed labels; drop --sealed (or --public)",
            EXIT_USAGE,
        )
    checked: list[ValidatedBundleJSON] = []
    for path in paths:
        problems = validate_bundle(path, sealed, public=public)
        checked.append(
            ValidatedBundleJSON(
                path=str(path),
                ok=not problems,
                problems=[
                    ProblemJSON(
                        file=display_path(p.path), line=p.line, column=p.column, message=p.message
                    )
                    for p in problems
                ],
            )
        )
        if not as_json:
            for problem in problems:
                typer.echo(str(problem))
        if not quiet:
            typer.echo(
                f"{path}: {len(problems)} problem(s)" if problems else f"{path}: ok", err=True
            )
        if public and (path / manifest.SEALED_DIR_NAME).exists():
            typer.echo(
                f"airlock: warning: {path / manifest.SEALED_DIR_NAME} exists and was not "
                "checked; remove it before giving the bundle to participants",
                err=True,
            )
    failed = sum(1 for item in checked if not item["ok"])
    if as_json:
        print_json(ValidateJSON(ok=not failed, bundles=checked))
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
    as_json: Annotated[bool, typer.Option("--json", help=json_help(BundleListJSON))] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    """List the bundles below a directory with their task, folds and hash."""
    from rich.markup import escape
    from rich.table import Table

    from runner.bundle import manifest
    from runner.bundle.load import read_spec

    listed: list[BundleListItemJSON] = []
    for spec_path in sorted(root.glob("*/bundle.yaml")):
        spec, problems = read_spec(spec_path.parent)
        manifest_path = spec_path.parent / manifest.MANIFEST_NAME
        try:
            digest = manifest.bundle_hash(manifest_path) if manifest_path.is_file() else None
        except OSError:
            digest = None
        listed.append(
            BundleListItemJSON(
                path=str(spec_path.parent),
                id=spec.id if spec else None,
                valid=spec is not None,
                task_type=str(spec.task_type) if spec else None,
                folds=len(spec.folds) if spec else None,
                primary_metric=spec.metrics.primary if spec else None,
                hash=digest if spec else None,
                title=spec.title if spec else None,
                problem=None if spec else str(problems[0]),
            )
        )
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


import_app = typer.Typer(help="Import a hosted benchmark's tasks as bundles.", no_args_is_help=True)
app.add_typer(import_app, name="import")


SALT_KEY_HELP = (
    "File holding a secret key (any bytes; keep it away from participants and out of --out). "
    "Each commitment salt is then an HMAC-SHA256 under that key of the bundle id and the "
    "source-file hashes, so a re-import of the same source gives the same bundle hash. "
    "Default: a random salt, and a new bundle hash on every import."
)
SEALED_OUT_HELP = (
    "Write the test labels (and SALT) to DIR/<bundle id>/ instead of each bundle's sealed/ "
    "(then run with --sealed DIR). Never give this directory to participants."
)
IMPORT_QUIET_HELP = (
    "Print only each bundle's `PATH  HASH` line, warnings and errors: no notes on salts or "
    "where the sealed labels went."
)
_SHORT_KEY_BYTES = 16


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def _sealing(
    out: Path, salt_key: Path | None, sealed_out: Path | None, quiet: bool
) -> bytes | None:
    """Check --salt-key and --sealed-out before anything is written; return the key."""
    if sealed_out is not None and _inside(sealed_out, out):
        raise fail(
            f"--sealed-out {sealed_out} lies inside --out {out}, which is given to participants; "
            "choose a directory outside it",
            EXIT_USAGE,
        )
    if salt_key is None:
        note(
            "no --salt-key, so every bundle gets a random commitment salt and its bundle hash "
            "will differ on every import; give --salt-key FILE for the same hash",
            quiet,
        )
        return None
    for directory, option in ((out, "--out"), (sealed_out, "--sealed-out")):
        if directory is not None and _inside(salt_key, directory):
            raise fail(
                f"--salt-key {salt_key} lies inside {option} {directory}; keep the key apart "
                "from the bundles and the sealed labels (e.g. in /etc/airlock/)",
                EXIT_USAGE,
            )
    if salt_key.exists() and not salt_key.is_file():
        raise fail(
            f"--salt-key {salt_key} is not a file; give the file holding the key", EXIT_USAGE
        )
    if not salt_key.is_file():
        raise fail(
            f"--salt-key {salt_key}: no such file; create a secret one, e.g. "
            f"head -c 32 /dev/urandom > {salt_key}",
            EXIT_USAGE,
        )
    try:
        key = salt_key.read_bytes()
    except OSError as exc:
        raise fail(
            f"--salt-key {salt_key}: cannot be read: {exc.strerror or exc}", EXIT_USAGE
        ) from None
    if not key:
        raise fail(
            f"--salt-key {salt_key} is empty; put a secret in it, e.g. "
            f"head -c 32 /dev/urandom > {salt_key}",
            EXIT_USAGE,
        )
    if len(key) < _SHORT_KEY_BYTES:
        typer.echo(
            f"airlock: warning: --salt-key {salt_key} holds only {len(key)} bytes; a guessable "
            "key lets anyone recompute the salts from bundle.yaml (use 32 random bytes)",
            err=True,
        )
    return key


def _sealed_summary(sealed_out: Path | None, out: Path, quiet: bool) -> None:
    if sealed_out is not None and not quiet:
        typer.echo(
            f"sealed labels: {sealed_out}/<bundle id>  (keep them away from participants; "
            f"run with --bundle {out} --sealed {sealed_out})",
            err=True,
        )


def _task_list(tasks: str | None, known: tuple[str, ...]) -> list[str]:
    if tasks is None:
        return list(known)
    wanted = [t.strip() for t in tasks.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise fail(f"--tasks: unknown task id(s) {unknown}; known: {', '.join(known)}", EXIT_USAGE)
    return wanted


@import_app.command("spaceomicsbench")
def import_spaceomicsbench(
    source: Annotated[
        Path, typer.Option(help="SpaceOmicsBench checkout (data/processed, tasks, splits).")
    ],
    out: Annotated[Path, typer.Option(help="Directory to write the bundles into.")],
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated task ids (default: all 21).")
    ] = None,
    as_published: Annotated[
        bool,
        typer.Option(
            "--as-published", help="Reproduce upstream's feature assembly, defects included."
        ),
    ] = False,
    salt_key: Annotated[Path | None, typer.Option(help=SALT_KEY_HELP)] = None,
    sealed_out: Annotated[Path | None, typer.Option(help=SEALED_OUT_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=IMPORT_QUIET_HELP)] = False,
) -> None:
    """One bundle per task: the corrected contract, or upstream's with --as-published.

    docs/benchmarks.md lists what the corrected variant changes.
    """
    from runner.suites.spaceomicsbench import features, importer, truth

    if not (source / "tasks").is_dir():
        raise fail(
            f"--source {source}: no tasks/ directory; expected a SpaceOmicsBench checkout",
            EXIT_USAGE,
        )
    variant = features.AS_PUBLISHED if as_published else features.CORRECTED
    task_ids = _task_list(tasks, truth.TASK_IDS)
    key = _sealing(out, salt_key, sealed_out, quiet)
    failed = False
    for task_id in task_ids:
        try:
            result = importer.import_task(
                source, out, task_id, variant, salt_key=key, sealed_out=sealed_out
            )
        except (truth.SourceInvalid, ValueError, KeyError, OSError) as exc:
            # reported now, the other tasks go on; the exit code says some failed
            fail(f"{task_id}: cannot import: {exc}; check --source {source}", EXIT_FAILED)
            failed = True
            continue
        if result.skipped:
            typer.echo(f"airlock: warning: {task_id}: {result.skipped}; skipped", err=True)
        else:
            typer.echo(f"{result.path}  {result.bundle_hash}")
    _sealed_summary(sealed_out, out, quiet)
    if failed:
        raise typer.Exit(EXIT_FAILED)


@import_app.command("genelab")
def import_genelab(
    source: Annotated[Path, typer.Option(help="GeneLab benchmark checkout (tasks/, processed/).")],
    out: Annotated[Path, typer.Option(help="Directory to write the bundles into.")],
    level: Annotated[
        str, typer.Option(help="pathway (GSVA scores) or gene (train_X/test_X files).")
    ] = "pathway",
    db: Annotated[
        str, typer.Option(help="Gene-set database: hallmark, kegg, reactome or mitocarta.")
    ] = "hallmark",
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated task ids (default: A1-A6 and B1-B6).")
    ] = None,
    salt_key: Annotated[Path | None, typer.Option(help=SALT_KEY_HELP)] = None,
    sealed_out: Annotated[Path | None, typer.Option(help=SEALED_OUT_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=IMPORT_QUIET_HELP)] = False,
) -> None:
    """Category A leave-one-mission-out bundles and Category B cross-mission pair bundles."""
    from runner.suites import genelab_bundles as gl

    known = tuple(f"{c}{n}" for c in "AB" for n in range(1, 7))
    if not (source / "tasks").is_dir():
        raise fail(
            f"--source {source}: no tasks/ directory; expected a GeneLab benchmark checkout",
            EXIT_USAGE,
        )
    if level not in ("pathway", "gene"):
        raise fail(f"--level {level!r} is not a level; use pathway or gene", EXIT_USAGE)
    if db not in gl.DATABASES:
        raise fail(
            f"--db {db!r} is not a gene-set database; use one of {', '.join(gl.DATABASES)}",
            EXIT_USAGE,
        )
    task_ids = _task_list(tasks, known)
    key = _sealing(out, salt_key, sealed_out, quiet)
    failed = False
    for task_id in task_ids:
        try:
            if level == "gene":
                problem = gl.gene_level_problem(source, task_id)
                fail(
                    f"{task_id}: {problem or 'gene-level import is not implemented'}; skipped; "
                    "import --level pathway instead",
                    EXIT_FAILED,
                )  # reported now, the other tasks go on
                failed = True
                continue
            built = (gl.import_category_a if task_id.startswith("A") else gl.import_category_b)(
                source, out, task_id, db, salt_key=key, sealed_out=sealed_out
            )
        except gl.GenelabSourceError as exc:
            fail(f"{task_id}: {exc}; check --source {source}", EXIT_FAILED)  # the others go on
            failed = True
            continue
        for skipped in built.skipped:
            typer.echo(f"airlock: warning: {task_id}: {skipped}", err=True)
        typer.echo(f"{built.path}  {built.bundle_hash}")
    _sealed_summary(sealed_out, out, quiet)
    if failed:
        raise typer.Exit(EXIT_FAILED)
