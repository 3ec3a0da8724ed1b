"""``airlock bundle import ...``: a hosted benchmark's tasks as bundles, each sealed with a
commitment salt (random, or derived from ``--salt-key`` so a re-import keeps its hash)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail
from runner.cli.shapes import note

import_app = typer.Typer(help="Import a hosted benchmark's tasks as bundles.", no_args_is_help=True)


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

OutOption = Annotated[Path, typer.Option(help="Directory to write the bundles into.")]
SaltKeyOption = Annotated[Path | None, typer.Option(help=SALT_KEY_HELP)]
SealedOutOption = Annotated[Path | None, typer.Option(help=SEALED_OUT_HELP)]
ImportQuietOption = Annotated[bool, typer.Option("--quiet", "-q", help=IMPORT_QUIET_HELP)]


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
    out: OutOption,
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated task ids (default: all 21).")
    ] = None,
    as_published: Annotated[
        bool,
        typer.Option(
            "--as-published", help="Reproduce upstream's feature assembly, defects included."
        ),
    ] = False,
    salt_key: SaltKeyOption = None,
    sealed_out: SealedOutOption = None,
    quiet: ImportQuietOption = False,
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
    out: OutOption,
    level: Annotated[
        str, typer.Option(help="pathway (GSVA scores) or gene (train_X/test_X files).")
    ] = "pathway",
    db: Annotated[
        str, typer.Option(help="Gene-set database: hallmark, kegg, reactome or mitocarta.")
    ] = "hallmark",
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated task ids (default: A1-A6 and B1-B6).")
    ] = None,
    salt_key: SaltKeyOption = None,
    sealed_out: SealedOutOption = None,
    quiet: ImportQuietOption = False,
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
