"""``airlock results ...``, ``airlock publish`` and ``airlock leaderboard``: read what runs
stored.

What ``--json`` prints is defined in :mod:`runner.cli.shapes`; which result fills which cell
of ``results table`` is decided in :mod:`runner.results.compare`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.errors import EXIT_USAGE, fail, output_console, user_errors
from runner.cli.shapes import (
    CellJSON,
    LeaderboardJSON,
    QuietOption,
    ResultsTableJSON,
    SubmissionJSON,
    TableRowJSON,
    finite,
    json_help,
    note,
    print_json,
)

if TYPE_CHECKING:
    from rich.table import Table

    from runner.leaderboard.ranking import Board, DeclaredTask
    from runner.leaderboard.robustness import Robustness
    from runner.results.compare import Comparison
    from runner.results.model import SubmissionResult

app = typer.Typer(help="Read stored results.", no_args_is_help=True)

StoreOption = Annotated[str, typer.Option(help="Result store: a directory or s3://bucket/prefix.")]


# --- results table ------------------------------------------------------------------------


def _header(team: str, image: str) -> str:
    """The image alone when the team is its repository (the default team), else both."""
    from rich.markup import escape  # names are data, never markup

    if image == team or image.startswith((f"{team}:", f"{team}@")):
        return escape(image)
    return f"{escape(team)}\n{escape(image)}"


def _cell_json(result: SubmissionResult | None) -> CellJSON | None:
    if result is None:
        return None
    agg, robust = result.aggregate, result.statistics.robustness
    return CellJSON(
        mean=finite(agg.mean),
        sd=finite(agg.sd),
        n_folds=agg.n_folds,
        n_scored=agg.n_scored,
        failed_folds=list(agg.failed_folds),
        robustness=None if robust is None else finite(robust.score),
        bundle_hash=result.provenance.bundle_hash,
        finished_at=result.provenance.finished_at.isoformat(),
    )


def _cell_text(result: SubmissionResult | None) -> str:
    """mean ± sd over folds, and how many folds failed (rich markup)."""
    if result is None:
        return ""
    agg = result.aggregate
    text = "-" if agg.mean is None else f"{agg.mean:.3f} ± {agg.sd or 0:.3f}"
    if agg.failed_folds:
        text += f" [red]({len(agg.failed_folds)} failed)[/red]"
    return text


def _robustness_text(result: SubmissionResult | None) -> str:
    """The result's robustness score (mean rAUC of its probes; docs/robustness.md)."""
    summary = result.statistics.robustness if result is not None else None
    if summary is None:
        return ""
    return "-" if summary.score is None else f"{summary.score:.3f}"


def _table_json(store: str, grid: Comparison) -> ResultsTableJSON:
    return ResultsTableJSON(
        store=store,
        columns=[SubmissionJSON(team=team, image=image) for team, image in grid.columns],
        rows=[
            TableRowJSON(
                bundle=bundle_id,
                metric=metric,
                cells=[_cell_json(grid.cell(bundle_id, metric, c)) for c in grid.columns],
            )
            for bundle_id, metric in grid.rows
        ],
    )


def _table_grid(store: str, grid: Comparison) -> Table:
    from rich.markup import escape
    from rich.table import Table

    probed = grid.probed
    headers = []
    for team, image in grid.columns:
        headers.append(_header(team, image))
        if (team, image) in probed:
            headers.append("robustness")
    shown = Table(
        "bundle", "metric", *headers, title=f"Primary metric by submission ({escape(store)})"
    )
    for bundle_id, metric in grid.rows:
        cells = []
        for column in grid.columns:
            result = grid.cell(bundle_id, metric, column)
            cells.append(_cell_text(result))
            if column in probed:
                cells.append(_robustness_text(result))
        shown.add_row(escape(bundle_id), escape(metric), *cells)
    return shown


@app.command("table")
def table(
    results: StoreOption = "results",
    as_json: Annotated[bool, typer.Option("--json", help=json_help(ResultsTableJSON))] = False,
    quiet: QuietOption = False,
) -> None:
    """Compare submissions: one row per bundle, one column per submission (team and image).

    Cells: the primary metric's mean ± sd over folds, from the submission's latest result.
    """
    from runner.results.compare import compare
    from runner.results.store import store_at

    with user_errors():
        found = store_at(results).results()
    if not found:
        raise fail(
            f"no results in {results}; run `airlock run --results {results}` first, "
            "or give --results the store that holds them",
            EXIT_USAGE,
        )
    grid = compare(found)
    if grid.older:
        note(
            f"{grid.older} older result(s) not shown: each cell is the latest "
            "result of its team, image and bundle",
            quiet,
        )
    if as_json:
        print_json(_table_json(results, grid))
        return
    output_console().print(_table_grid(results, grid))


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


def _rankable(results: str, quiet: bool) -> tuple[list[SubmissionResult], int]:
    """The results of sealed (container) runs, and how many local --command runs were left
    out; a usage error when nothing is left to rank."""
    from runner.results.store import store_at

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
    return found, len(unsealed)


def _write_boards(boards: list[Board], out: Path, robustness: Robustness) -> None:
    from runner.leaderboard import render

    try:
        render.write_all(boards, out, robustness)
    except OSError as exc:
        raise fail(
            f"cannot write the leaderboard to {out}: {exc.strerror or exc}; "
            "give --out a directory you can write",
            EXIT_USAGE,
        ) from None


ResamplesOption = Annotated[
    int, typer.Option(min=100, help="Bootstrap resamples behind rank intervals and groups.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the resamples (shown on the board).")]
AlphaOption = Annotated[float, typer.Option(help="Level of the paired test that forms groups.")]
LadderOption = Annotated[
    float | None,
    typer.Option(
        metavar="STEP", help="Public scores under the Ladder, e.g. 0.01 (docs/leaderboards.md)."
    ),
]


def leaderboard(
    results: StoreOption,
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
    quiet: QuietOption = False,
    suite: Annotated[
        list[Path] | None,
        typer.Option(
            help="The bundles (or directories of bundles) whose tasks the boards must show "
            "(repeatable): a submission missing one ranks below every complete one. "
            "Default: every task some submission ran.",
        ),
    ] = None,
    resamples: ResamplesOption = 2000,
    seed: SeedOption = 0,
    alpha: AlphaOption = 0.05,
    ladder: LadderOption = None,
) -> None:
    """Rank every complete result by the hosted benchmark's rules; write md, csv and html."""
    from runner.leaderboard.export import boards_json
    from runner.leaderboard.ranking import Resampling, build_boards
    from runner.leaderboard.robustness import Robustness

    if per_team not in ("best", "latest"):
        raise fail(f"--per-team {per_team!r} is not a choice; use best or latest", EXIT_USAGE)
    found, left_out = _rankable(results, quiet)
    with user_errors():
        declared, sampling = _declared(suite or []), Resampling(resamples, seed, alpha)
        boards = build_boards(found, per_team, declared, resampling=sampling, ladder=ladder)  # type: ignore[arg-type]
    robustness = Robustness.of(found)
    _write_boards(boards, out, robustness)
    rows = sum(len(b.rows) for b in boards)
    summary = f"wrote {out}/leaderboard.{{md,csv,html}}: {len(boards)} board(s), {rows} row(s)"
    if as_json:
        note(summary, quiet)
        print_json(
            LeaderboardJSON(
                out=str(out),
                per_team=per_team,
                left_out=left_out,
                boards=boards_json(boards, robustness),
            )
        )
    elif not quiet:
        typer.echo(summary)
