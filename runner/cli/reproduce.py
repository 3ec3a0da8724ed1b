"""``airlock reproduce``: re-run a stored result and say whether it comes out the same.

The work (finding the result, checking the image and bundle are at hand, re-running,
comparing) is in :mod:`runner.reproduce`; this module parses, prints and exits.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.errors import EXIT_FAILED, output_console, user_errors

if TYPE_CHECKING:
    from rich.table import Table

    from runner.reproduce import FoldComparison, Spread

VERDICTS = ("identical", "within tolerance", "different")
ResultArgument = Annotated[
    str,
    typer.Argument(
        metavar="RESULT",
        help="A result.json (or the directory holding it), or a result in a store: "
        "s3://bucket/prefix/<submission>/<bundle> (the store URI and the result's key).",
    ),
]
BundleOption = Annotated[
    Path | None,
    typer.Option(
        help="The bundle the result ran (same hash); default: the bundle_path in its provenance."
    ),
]
SealedOption = Annotated[
    Path | None,
    typer.Option(help="The bundle's sealed labels when kept apart (DIR/<fold>/y.csv)."),
]
ToleranceOption = Annotated[
    float,
    typer.Option(
        min=0.0,
        help="Scores and predicted values closer than this still match (default 0: "
        "identical only).",
    ),
]
RunsOption = Annotated[
    int,
    typer.Option(
        min=1,
        help="Run the submission K times; with K > 1 the spread of every score (min, max, "
        "sd) says whether it is deterministic.",
    ),
]
ScratchOption = Annotated[
    Path | None,
    typer.Option(help="Store for the re-runs (default: a temporary directory, removed)."),
]


@contextlib.contextmanager
def _scratch(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="airlock-reproduce-") as directory:
        yield Path(directory)


def reproduce(
    result: ResultArgument,
    bundle: BundleOption = None,
    sealed: SealedOption = None,
    tolerance: ToleranceOption = 0.0,
    runs: RunsOption = 1,
    scratch: ScratchOption = None,
) -> None:
    """Re-run a stored result's folds (same image, bundle, limits) and compare, fold by fold.

    Exit codes: 0 every fold matches, 1 a fold differs, 2 missing or changed input, 3 engine.
    """
    from runner import reproduce as rerunning
    from runner.results.store import LocalResultStore
    from runner.run import RunListener
    from runner.sandbox.providers import provider_for

    comparisons: list[list[FoldComparison]] = []
    with user_errors():
        provider = provider_for("docker")
        source = rerunning.locate(result)
        path = rerunning.check_at_hand(provider, source, bundle, sealed)
        request = rerunning.request_for(source.result, path, sealed)
        folds = len(source.result.folds)
        reruns = []
        with _scratch(scratch) as directory:
            for number in range(1, runs + 1):
                typer.echo(f"re-running {folds} fold(s), run {number} of {runs}...", err=True)
                again = rerunning.rerun(
                    provider, LocalResultStore(directory), request, RunListener()
                )
                reruns.append(again.result)
                comparisons.append(rerunning.compare(source, again, tolerance))
    _report(source.result.provenance.bundle_id, comparisons, tolerance)
    if runs > 1:
        _report_spread(rerunning.spread(source.result, reruns), runs)
    changed = sorted({c for run in reruns for c in rerunning.settings_changed(source.result, run)})
    if changed:
        typer.echo(f"not the same settings: {'; '.join(changed)}")
    if changed or any(rerunning.verdict_of(c) == "different" for c in comparisons):
        raise typer.Exit(EXIT_FAILED)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _table(comparisons: list[FoldComparison], title: str) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "fold", "status", "score", "original", "re-run", "other scores", "predictions", "verdict",
        title=title,
    )  # fmt: skip
    for item in comparisons:
        (primary, (a, b, _)), *rest = list(item.scores.items()) or [
            ("-", (None, None, "identical"))
        ]
        others = [name for name, (_, _, v) in rest if v != "identical"]
        status = item.status[0] if item.status[0] == item.status[1] else " -> ".join(item.status)
        largest = item.largest_prediction_difference
        shown = item.predictions + (f" (max diff {largest:.3g})" if largest else "")
        table.add_row(
            escape(item.fold_id), status, escape(primary), _number(a), _number(b),
            f"{len(rest) - len(others)} of {len(rest)} identical" if rest else "-",
            shown, item.verdict,
        )  # fmt: skip
    return table


def _report(bundle: str, comparisons: list[list[FoldComparison]], tolerance: float) -> None:
    from runner.reproduce import verdict_of

    console = output_console()
    for number, run in enumerate(comparisons, start=1):
        counts = {v: sum(1 for c in run if c.verdict == v) for v in VERDICTS}
        typer.echo(
            f"run {number} of {len(comparisons)}: "
            + ", ".join(f"{n} {v}" for v, n in counts.items())
        )
    number = max(range(len(comparisons)), key=lambda i: VERDICTS.index(verdict_of(comparisons[i])))
    worst = comparisons[number]
    console.print(_table(worst, f"Run {number + 1} against the original, fold by fold"))
    verdicts = {verdict_of(run) for run in comparisons}
    folds = len(worst)
    if verdicts == {"identical"}:
        typer.echo(f"reproduced: every fold of {bundle} identical (predictions and scores)")
    elif "different" not in verdicts:
        typer.echo(f"reproduced within --tolerance {tolerance:g}: every fold of {bundle}")
    else:
        differ = max(sum(1 for c in run if c.verdict == "different") for run in comparisons)
        typer.echo(f"not reproduced: {differ} of {folds} fold(s) of {bundle} differ (table above)")


def _report_spread(spreads: list[Spread], runs: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        "fold", "score", "original", "min", "max", "sd", "deterministic",
        title=f"Spread over {runs} runs (sd: population)",
    )  # fmt: skip
    for item in spreads:
        table.add_row(
            escape(item.fold_id), escape(item.metric), _number(item.original), _number(item.low),
            _number(item.high), _number(item.sd), "yes" if item.deterministic else "no",
        )  # fmt: skip
    output_console().print(table)
    varying = sum(1 for item in spreads if not item.deterministic)
    if varying:
        typer.echo(f"not deterministic: {varying} of {len(spreads)} score(s) vary over {runs} runs")
    else:
        typer.echo(f"deterministic: every score identical over {runs} runs")
