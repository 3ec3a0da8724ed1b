"""``airlock score ...``: score existing prediction files (no containers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail
from runner.errors import UsageError

app = typer.Typer(
    help="Score prediction files in a hosted benchmark's own format.", no_args_is_help=True
)


def _write_json(document: dict[str, Any], output: Path | None) -> None:
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text)
    tmp.replace(output)
    typer.echo(f"wrote {output}", err=True)


def _refuse(problems: list[str], what: Path) -> typer.Exit:
    """Print each problem on stdout and the count on stderr; the Exit to raise."""
    for line in problems:
        typer.echo(line)
    typer.echo(f"{what}: {len(problems)} problem(s); not scored", err=True)
    return typer.Exit(EXIT_FAILED)


def _note(line: str) -> None:
    typer.echo(line, err=True)


@app.command("genelab")
def genelab(
    submission: Annotated[
        Path, typer.Argument(help="Submission JSON (task_id, model_name, predictions).")
    ],
    tasks: Annotated[
        Path, typer.Option(help="The benchmark's tasks/ directory (holds <ID>_*/ folders).")
    ],
    task_dir: Annotated[
        str | None,
        typer.Option(help="Task folder name under --tasks, when several match the task id."),
    ] = None,
    n_bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap replicates (per-unit and pooled CIs).")
    ] = 2000,
    n_perm: Annotated[int, typer.Option(min=0, help="Permutations per unit.")] = 1000,
    n_bootstrap_pooled: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Replicates for the pooled CI only (default: --n-bootstrap; "
            "the first upstream evaluator version always used 2000).",
        ),
    ] = None,
    validate_only: Annotated[bool, typer.Option(help="Check the submission and stop.")] = False,
    output: Annotated[
        Path | None, typer.Option(help="Write the result JSON here (default: stdout).")
    ] = None,
) -> None:
    """Score a GeneLab benchmark submission exactly as the upstream evaluator does.

    Every problem in the submission is reported, one line each, with exit code 1.
    """
    from runner.suites.genelab import check_submission
    from runner.suites.genelab_result import evaluate, summary_lines

    if not tasks.is_dir():
        raise fail(f"--tasks {tasks}: not a directory", EXIT_USAGE)
    checked = check_submission(submission, tasks, task_dir)
    if checked.problems:
        raise _refuse(checked.problems, submission)
    _note(f"{submission}: valid")
    if validate_only:
        return
    result = evaluate(
        checked, n_bootstrap=n_bootstrap, n_perm=n_perm, pooled_n_bootstrap=n_bootstrap_pooled
    )
    for line in summary_lines(result):
        _note(line)
    _write_json(result, output)


@app.command("spaceomicsbench")
def spaceomicsbench(
    predictions: Annotated[Path, typer.Argument(help="Directory with one <TASK>.json per task.")],
    source: Annotated[
        Path, typer.Option(help="SpaceOmicsBench checkout (data/processed, tasks, splits).")
    ],
    task: Annotated[
        str, typer.Option(help="A task id such as A1, or 'all' (every file present).")
    ] = "all",
    output: Annotated[
        Path | None, typer.Option(help="Write the result JSON here (default: stdout).")
    ] = None,
) -> None:
    """Score a SpaceOmicsBench prediction directory with the benchmark's own metrics.

    Ground truth is rebuilt from the source as the task contract says (the corrected F3
    order, with a warning). Every problem is reported, one line each, with exit code 1.
    The output has the harness's layout (results, per_split, aggregate) plus an airlock
    section.
    """
    from runner.suites.spaceomicsbench.directory import check_directory, score_directory

    try:
        checked = check_directory(predictions, source, task, note=_note)
    except UsageError as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    if checked.problems:
        raise _refuse(checked.problems, predictions)
    result, lines = score_directory(checked)
    for line in lines:
        _note(line)
    _write_json(result, output)
