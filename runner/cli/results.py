"""``airlock results ...``, ``airlock publish`` and ``airlock leaderboard``: read what runs
stored.

The JSON that the read commands print with ``--json`` (here and in ``airlock bundle``) is
defined once, below, as TypedDicts; each ``--json`` help text is rendered from them, so the
documented shape is the printed one.
"""

from __future__ import annotations

import json
import math
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypedDict

import typer

from runner.cli.errors import EXIT_USAGE, fail, output_console, user_errors

if TYPE_CHECKING:
    from runner.leaderboard.ranking import Board, DeclaredTask
    from runner.results.model import SubmissionResult

app = typer.Typer(help="Read stored results.", no_args_is_help=True)


# --- JSON shapes of the read commands (the one place they are defined) -------------------


class SubmissionJSON(TypedDict):
    """A submission: who submitted (provenance.team) and what (the image reference)."""

    team: str
    image: str


class CellJSON(TypedDict):
    """One submission on one bundle: the primary metric over folds (its latest result)."""

    mean: float | None
    sd: float | None
    n_folds: int
    n_scored: int
    failed_folds: list[str]
    bundle_hash: str
    finished_at: str


class TableRowJSON(TypedDict):
    bundle: str
    metric: str
    cells: list[CellJSON | None]
    """Lined up with ``columns``; null where the submission has no result on the bundle."""


class ResultsTableJSON(TypedDict):
    """``airlock results table --json``."""

    store: str
    columns: list[SubmissionJSON]
    rows: list[TableRowJSON]


class BoardTaskJSON(TypedDict):
    bundle: str
    task: str
    metric: str


class BoardEntryJSON(TypedDict):
    task: str
    status: Literal["scored", "failed", "undefined", "missing"]
    value: float | None
    """The score the board ranks on (normalized for SpaceOmicsBench); null unless scored."""
    mean: float | None
    reason: str


class BoardRowJSON(TypedDict):
    rank: int
    team: str
    image: str
    image_id: str
    composite: float | None
    complete: bool
    tasks: list[BoardEntryJSON]
    """Lined up with the board's ``tasks``."""


class BoardJSON(TypedDict):
    title: str
    rule: str
    tasks: list[BoardTaskJSON]
    rows: list[BoardRowJSON]


class LeaderboardJSON(TypedDict):
    """``airlock leaderboard --json``."""

    out: str
    per_team: str
    left_out: int
    """Results of local --command runs (no isolation), never ranked."""
    boards: list[BoardJSON]


class BundleListItemJSON(TypedDict):
    path: str
    id: str | None
    valid: bool
    task_type: str | None
    folds: int | None
    primary_metric: str | None
    hash: str | None
    title: str | None
    problem: str | None
    """The first problem of an invalid bundle.yaml (``airlock bundle validate`` lists all)."""


class BundleListJSON(TypedDict):
    """``airlock bundle list --json``."""

    root: str
    bundles: list[BundleListItemJSON]


class ProblemJSON(TypedDict):
    file: str
    line: int | None
    column: str | None
    message: str


class ValidatedBundleJSON(TypedDict):
    path: str
    ok: bool
    problems: list[ProblemJSON]


class ValidateJSON(TypedDict):
    """``airlock bundle validate --json`` (exit code 1 when ``ok`` is false)."""

    ok: bool
    bundles: list[ValidatedBundleJSON]


def shape_of(kind: Any) -> str:
    """A JSON shape as one line of text, e.g. ``{ok: bool, bundles: [{path: str, ...}, ...]}``."""
    if typing.is_typeddict(kind):
        fields = typing.get_type_hints(kind)
        return "{" + ", ".join(f"{name}: {shape_of(sub)}" for name, sub in fields.items()) + "}"
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return f"[{shape_of(args[0])}, ...]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(shape_of(arg) for arg in args)
    if origin is Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    names: dict[Any, str] = {str: "str", int: "int", float: "number", bool: "bool"}
    return names.get(kind, "null")


def json_help(kind: Any, note: str = "") -> str:
    """The ``--json`` option's help: what is printed, in which shape."""
    from rich.markup import escape  # the help is rich markup: keep [..] literal

    return escape(f"Print JSON on stdout instead (notes go to stderr){note}: {shape_of(kind)}.")


QUIET_HELP = "Print only the output itself, warnings and errors: no progress, no notes."


def print_json(payload: Any) -> None:
    """The only thing ``--json`` writes to stdout."""
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def note(text: str, quiet: bool) -> None:
    """A note for people (stderr), left out with --quiet."""
    if not quiet:
        typer.echo(f"airlock: note: {text}", err=True)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --- results table ------------------------------------------------------------------------


def _submission(result: SubmissionResult) -> tuple[str, str]:
    """(team, image) of a result; results of Airlock 0.1 without a team count as the image's."""
    image = result.provenance.image_ref
    return result.provenance.team or image, image


def _header(team: str, image: str) -> str:
    """The image alone when the team is its repository (the default team), else both."""
    from rich.markup import escape  # names are data, never markup

    if image == team or image.startswith((f"{team}:", f"{team}@")):
        return escape(image)
    return f"{escape(team)}\n{escape(image)}"


def _cell_json(result: SubmissionResult | None) -> CellJSON | None:
    if result is None:
        return None
    agg = result.aggregate
    return CellJSON(
        mean=_finite(agg.mean),
        sd=_finite(agg.sd),
        n_folds=agg.n_folds,
        n_scored=agg.n_scored,
        failed_folds=list(agg.failed_folds),
        bundle_hash=result.provenance.bundle_hash,
        finished_at=result.provenance.finished_at.isoformat(),
    )


@app.command("table")
def table(
    results: Annotated[
        str, typer.Option(help="Result store: a directory or s3://bucket/prefix.")
    ] = "results",
    as_json: Annotated[bool, typer.Option("--json", help=json_help(ResultsTableJSON))] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    """Compare submissions: one row per bundle, one column per submission (team and image).

    Cells: the primary metric's mean ± sd over folds, from the submission's latest result.
    """
    from rich.table import Table

    from runner.results.store import store_at

    with user_errors():
        found = store_at(results).results()
    if not found:
        raise fail(
            f"no results in {results}; run `airlock run --results {results}` first, "
            "or give --results the store that holds them",
            EXIT_USAGE,
        )
    columns = sorted({_submission(r) for r in found})
    bundles = sorted({(r.provenance.bundle_id, r.primary_metric) for r in found})
    latest: dict[tuple[str, str, str], SubmissionResult] = {}
    for result in sorted(found, key=lambda r: r.provenance.finished_at):
        latest[(*_submission(result), result.provenance.bundle_id)] = result
    if len(latest) < len(found):
        note(
            f"{len(found) - len(latest)} older result(s) not shown: each cell is the latest "
            "result of its team, image and bundle",
            quiet,
        )

    def cell(bundle_id: str, metric: str, column: tuple[str, str]) -> SubmissionResult | None:
        entry = latest.get((*column, bundle_id))
        return entry if entry is not None and entry.primary_metric == metric else None

    if as_json:
        print_json(
            ResultsTableJSON(
                store=results,
                columns=[SubmissionJSON(team=team, image=image) for team, image in columns],
                rows=[
                    TableRowJSON(
                        bundle=bundle_id,
                        metric=metric,
                        cells=[_cell_json(cell(bundle_id, metric, c)) for c in columns],
                    )
                    for bundle_id, metric in bundles
                ],
            )
        )
        return
    from rich.markup import escape

    grid = Table(
        "bundle",
        "metric",
        *(_header(team, image) for team, image in columns),
        title=f"Primary metric by submission ({escape(results)})",
    )
    for bundle_id, metric in bundles:
        cells = []
        for column in columns:
            entry = cell(bundle_id, metric, column)
            if entry is None:
                cells.append("")
                continue
            agg = entry.aggregate
            text = "-" if agg.mean is None else f"{agg.mean:.3f} ± {agg.sd or 0:.3f}"
            if agg.failed_folds:
                text += f" [red]({len(agg.failed_folds)} failed)[/red]"
            cells.append(text)
        grid.add_row(escape(bundle_id), escape(metric), *cells)
    output_console().print(grid)


@app.command("baselines")
def baselines(
    results: Annotated[
        str, typer.Option(help="Result store of the baseline runs (directory or s3://).")
    ],
    out: Annotated[Path, typer.Option(help="Markdown file to write.")] = Path("docs/baselines.md"),
    spaceomicsbench: Annotated[
        Path | None,
        typer.Option(help="SpaceOmicsBench checkout (for baselines/baseline_results.json)."),
    ] = None,
    genelab: Annotated[
        Path | None, typer.Option(help="GeneLab checkout (for evaluation/*_results.json).")
    ] = None,
) -> None:
    """Write the published-vs-Airlock baseline comparison (docs/baselines.md)."""
    from runner.results.store import store_at
    from runner.suites.report import baselines_markdown

    with user_errors():
        found = store_at(results).results()
    if not found:
        raise fail(
            f"no results in {results}; run the baseline images with `airlock run --results "
            f"{results}` first, or give --results the store that holds them",
            EXIT_USAGE,
        )
    text = baselines_markdown(found, spaceomicsbench, genelab)
    try:
        out.write_text(text)
    except OSError as exc:
        raise fail(
            f"cannot write {out}: {exc.strerror or exc}; give --out a file you can write",
            EXIT_USAGE,
        ) from None
    typer.echo(f"wrote {out} ({len(found)} results)")


def publish(
    local: Annotated[Path, typer.Argument(help="A local result store (what a run kept).")],
    to: Annotated[
        str, typer.Option("--to", help="The store to publish to, e.g. s3://bucket/prefix.")
    ],
) -> None:
    """Publish a local result store, each result.json after its other files (idempotent)."""
    from runner.results.store import LocalResultStore, store_at
    from runner.results.store import publish as copy

    if not local.is_dir():
        raise fail(
            f"{local} is not a directory; give the local result store a run kept "
            "(its --results, or --local-copy for s3:// runs)",
            EXIT_USAGE,
        )
    with user_errors():
        count = copy(LocalResultStore(local), store_at(to))
    typer.echo(f"published {count} file(s) from {local} to {to}")


# --- leaderboard --------------------------------------------------------------------------


def _boards_json(boards: list[Board]) -> list[BoardJSON]:
    shown = []
    for board in boards:
        rows = []
        for rank, row in enumerate(board.rows, start=1):
            entries = []
            for bundle_id, task, _ in board.tasks:
                entry = row.entries.get(bundle_id)
                status = "missing" if entry is None else entry.status
                entries.append(
                    BoardEntryJSON(
                        task=task,
                        status=status,
                        value=_finite(entry.score) if entry and status == "scored" else None,
                        mean=_finite(entry.mean) if entry else None,
                        reason=entry.reason if entry else "not submitted",
                    )
                )
            rows.append(
                BoardRowJSON(
                    rank=rank,
                    team=row.team,
                    image=row.image_ref,
                    image_id=row.image_id,
                    composite=_finite(row.composite),
                    complete=row.tier == 0,
                    tasks=entries,
                )
            )
        shown.append(
            BoardJSON(
                title=board.title,
                rule=board.rule,
                tasks=[BoardTaskJSON(bundle=b, task=t, metric=m) for b, t, m in board.tasks],
                rows=rows,
            )
        )
    return shown


def _declared(paths: list[Path]) -> list[DeclaredTask]:
    """The tasks of the bundles given with --suite (their specs only: nothing is verified)."""
    from runner.bundle.load import read_spec, suite_bundles
    from runner.errors import BundleError
    from runner.leaderboard.ranking import declared_tasks

    specs = []
    for path in paths:
        for bundle in suite_bundles(path):
            spec, problems = read_spec(bundle)
            if spec is None:
                raise BundleError(str(problems[0]))
            specs.append(spec)
    return declared_tasks(specs)


@app.command("migrate")
def migrate(
    results: Annotated[Path, typer.Option(help="A result directory in the Airlock 0.1 layout.")],
) -> None:
    """Move results of the old layout (keyed by image only) to their submission's key."""
    from runner.results.store import LocalResultStore
    from runner.results.store import migrate as move

    with user_errors():
        moved, left = move(LocalResultStore(results))
    typer.echo(f"moved {len(moved)} result(s) to the team-and-image layout")
    for directory in left:
        typer.echo(
            f"left {results / directory}: an interrupted run (no result.json names its team); "
            "run it again or delete it",
            err=True,
        )


def leaderboard(
    results: Annotated[str, typer.Option(help="Result store: a directory or s3://bucket/prefix.")],
    out: Annotated[Path, typer.Option(help="Directory for leaderboard.md, .csv and .html.")],
    per_team: Annotated[
        str, typer.Option(help="Which submission of a team is shown: best or latest.")
    ] = "best",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help=json_help(LeaderboardJSON, "; the files are written all the same")
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
    suite: Annotated[
        list[Path] | None,
        typer.Option(
            help="The bundles (or directories of bundles) whose tasks the boards must show "
            "(repeatable): a submission missing one ranks below every complete one. "
            "Default: every task some submission ran.",
        ),
    ] = None,
) -> None:
    """Rank every complete result by the hosted benchmark's rules; write md, csv and html."""
    from runner.leaderboard import render
    from runner.leaderboard.ranking import build_boards
    from runner.results.store import store_at

    if per_team not in ("best", "latest"):
        raise fail(f"--per-team {per_team!r} is not a choice; use best or latest", EXIT_USAGE)
    with user_errors():
        found = store_at(results).results()
    unsealed = [r for r in found if r.provenance.isolation != "container"]
    found = [r for r in found if r.provenance.isolation == "container"]
    if unsealed:
        note(f"left out {len(unsealed)} result(s) of local --command runs (no isolation)", quiet)
    if not found:
        raise fail(
            f"no complete results in {results}; run submissions with `airlock run --image` "
            "(local --command runs never rank), or give --results the store that holds them",
            EXIT_USAGE,
        )
    with user_errors():
        declared = _declared(suite or [])
    boards = build_boards(found, per_team, declared)  # type: ignore[arg-type]
    try:
        render.write_all(boards, out)
    except OSError as exc:
        raise fail(
            f"cannot write the leaderboard to {out}: {exc.strerror or exc}; "
            "give --out a directory you can write",
            EXIT_USAGE,
        ) from None
    rows = sum(len(b.rows) for b in boards)
    summary = f"wrote {out}/leaderboard.{{md,csv,html}}: {len(boards)} board(s), {rows} row(s)"
    if as_json:
        note(summary, quiet)
        print_json(
            LeaderboardJSON(
                out=str(out), per_team=per_team, left_out=len(unsealed), boards=_boards_json(boards)
            )
        )
    elif not quiet:
        typer.echo(summary)
