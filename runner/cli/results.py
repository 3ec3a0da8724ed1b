"""``airlock results ...``: read what runs stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import EXIT_USAGE, fail, output_console, user_errors

app = typer.Typer(help="Read stored results.", no_args_is_help=True)


@app.command("table")
def table(
    results: Annotated[
        str, typer.Option(help="Result store: a directory or s3://bucket/prefix.")
    ] = "results",
) -> None:
    """Compare submissions: one row per bundle, one column per image (primary metric mean ± sd)."""
    from rich.markup import escape
    from rich.table import Table

    from runner.results.model import SubmissionResult
    from runner.results.store import store_at

    with user_errors():
        found = store_at(results).results()
    if not found:
        raise fail(f"no results in {results}", EXIT_USAGE)
    images = sorted({r.provenance.image_ref for r in found})
    bundles = sorted({(r.provenance.bundle_id, r.primary_metric) for r in found})
    latest: dict[tuple[str, str], SubmissionResult] = {}
    for result in sorted(found, key=lambda r: r.provenance.finished_at):
        latest[(result.provenance.bundle_id, result.provenance.image_ref)] = result
    grid = Table(
        "bundle",
        "metric",
        *(escape(image) for image in images),  # names are data, never markup
        title=f"Primary metric by submission ({escape(results)})",
    )
    for bundle_id, metric in bundles:
        cells = []
        for image in images:
            entry = latest.get((bundle_id, image))
            if entry is None:
                cells.append("")
                continue
            agg = entry.aggregate
            text = "-" if agg.mean is None else f"{agg.mean:.3f} ± {agg.sd or 0:.3f}"
            if agg.failed_folds:
                text += f" [red]({len(agg.failed_folds)} failed)[/red]"
            cells.append(text)
        grid.add_row(escape(bundle_id), metric, *cells)
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
        raise fail(f"no results in {results}", EXIT_USAGE)
    out.write_text(baselines_markdown(found, spaceomicsbench, genelab))
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
        raise fail(f"{local}: not a directory", EXIT_USAGE)
    with user_errors():
        count = copy(LocalResultStore(local), store_at(to))
    typer.echo(f"published {count} file(s) from {local} to {to}")


def leaderboard(
    results: Annotated[str, typer.Option(help="Result store: a directory or s3://bucket/prefix.")],
    out: Annotated[Path, typer.Option(help="Directory for leaderboard.md, .csv and .html.")],
    per_team: Annotated[
        str, typer.Option(help="Which submission of a team is shown: best or latest.")
    ] = "best",
) -> None:
    """Rank every complete result by the hosted benchmark's rules; write md, csv and html."""
    from runner.leaderboard import render
    from runner.leaderboard.ranking import build_boards
    from runner.results.store import store_at

    if per_team not in ("best", "latest"):
        raise fail(f"--per-team {per_team!r}: use best or latest", EXIT_USAGE)
    with user_errors():
        found = store_at(results).results()
    unsealed = [r for r in found if r.provenance.isolation != "container"]
    found = [r for r in found if r.provenance.isolation == "container"]
    if unsealed:
        typer.echo(f"left out {len(unsealed)} result(s) of local --command runs (no isolation)")
    if not found:
        raise fail(f"no complete results in {results}", EXIT_USAGE)
    boards = build_boards(found, per_team)  # type: ignore[arg-type]
    render.write_all(boards, out)
    rows = sum(len(b.rows) for b in boards)
    typer.echo(f"wrote {out}/leaderboard.{{md,csv,html}}: {len(boards)} board(s), {rows} row(s)")
