"""``airlock score ...``: score existing prediction files (no containers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_USAGE, fail

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


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


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
    from runner.suites import genelab as suite

    if not tasks.is_dir():
        raise fail(f"--tasks {tasks}: not a directory", EXIT_USAGE)
    checked = suite.check_submission(submission, tasks, task_dir)
    if checked.problems:
        for line in checked.problems:
            typer.echo(line)
        typer.echo(f"{submission}: {len(checked.problems)} problem(s); not scored", err=True)
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"{submission}: valid", err=True)
    if validate_only:
        return
    result = suite.evaluate(
        checked, n_bootstrap=n_bootstrap, n_perm=n_perm, pooled_n_bootstrap=n_bootstrap_pooled
    )
    for unit in result["fold_results"]:
        typer.echo(
            f"  {unit['fold']:<28} n={unit['n_test']:<4} AUROC {_fmt(unit['auroc'])} "
            f"[{_fmt(unit['ci_lower'])}, {_fmt(unit['ci_upper'])}]  p={_fmt(unit['perm_p'])}"
            + (f"  ({unit['error']})" if "error" in unit else ""),
            err=True,
        )
    summary = result["summary"]
    typer.echo(
        f"  mean AUROC {_fmt(summary['mean_auroc'])} ± {_fmt(summary['std_auroc'])}, mean CI lower "
        f"{_fmt(summary['mean_ci_lower'])}, mean p {_fmt(summary['mean_perm_p'])}",
        err=True,
    )
    pattern = result["airlock"].get("transfer_pattern")
    if pattern is not None:
        typer.echo(
            f"  transfer: {pattern['n_auroc_ge_0_70']}/{pattern['n_pairs']} pairs AUROC >= 0.70, "
            f"{pattern['n_p_lt_0_05']} with p < 0.05; "
            f"{pattern['n_large_pairs']} large pairs (n >= 10), "
            f"mean AUROC {_fmt(pattern['large_pairs_mean_auroc'])}, "
            f"{pattern['n_large_pairs_p_lt_0_05']} with p < 0.05 "
            "(no GO/NO-GO for Category B)",
            err=True,
        )
    else:
        typer.echo(f"  {'GO' if summary['go_nogo'] else 'NO-GO'}", err=True)
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
    from runner.suites.spaceomicsbench import output as layout
    from runner.suites.spaceomicsbench import predictions as reader
    from runner.suites.spaceomicsbench import truth as tasks

    if not predictions.is_dir():
        raise fail(f"{predictions}: not a directory of <TASK>.json files", EXIT_USAGE)
    if not (source / "tasks").is_dir():
        raise fail(
            f"--source {source}: no tasks/ directory; expected a SpaceOmicsBench checkout",
            EXIT_USAGE,
        )
    present = {p.stem: p for p in sorted(predictions.glob("*.json"))}
    problems = [
        f"{path}: not a SpaceOmicsBench task id (tasks are {', '.join(tasks.TASK_IDS)})"
        for task_id, path in present.items()
        if task_id not in tasks.TASK_IDS
    ]
    if task == "all":
        wanted = [t for t in tasks.TASK_IDS if t in present]
        if not wanted and not problems:
            raise fail(f"{predictions}: no <TASK>.json prediction files", EXIT_USAGE)
    elif task in tasks.TASK_IDS:
        wanted = [task]
        if task not in present:
            problems.append(f"{predictions / (task + '.json')}: no prediction file for task {task}")
            wanted = []
    else:
        raise fail(
            f"--task {task!r}: not a task id ({', '.join(tasks.TASK_IDS)}) or 'all'", EXIT_USAGE
        )
    scored: dict[str, reader.ScoredTask] = {}
    skipped: dict[str, str] = {}
    checked = []
    for task_id in wanted:
        try:
            truth = tasks.load_task(source, task_id)
        except tasks.SourceMissing as missing:
            skipped[task_id] = str(missing)
            typer.echo(f"{task_id}: {missing}; not scored", err=True)
            continue
        except (tasks.SourceInvalid, OSError, ValueError, KeyError) as exc:
            raise fail(
                f"{task_id}: cannot build the truth from {source}: {exc}", EXIT_USAGE
            ) from None
        found = reader.read_task_predictions(present[task_id], truth)
        problems += found.problems
        checked.append((truth, found))
    if problems:
        for line in problems:
            typer.echo(line)
        typer.echo(f"{predictions}: {len(problems)} problem(s); not scored", err=True)
        raise typer.Exit(EXIT_FAILED)
    for truth, found in checked:
        scored[truth.task_id] = task_scores = reader.score_task(truth, found)
        primary = task_scores.primary
        shown = "undefined" if primary is None else f"{primary['mean']:.4f} ± {primary['std']:.4f}"
        typer.echo(f"  {truth.task_id:<3} {truth.primary_metric:<9} {shown}", err=True)
        for warning in truth.warnings:
            typer.echo(f"      warning: {warning}", err=True)
    summary = reader.summarize(scored)
    if summary["composite"] is not None:
        typer.echo(
            f"  composite {summary['composite']:.4f} over {summary['n_categories']} categories",
            err=True,
        )
    requested = list(layout.HARNESS_TASK_ORDER) if task == "all" else [task]
    _write_json(layout.document(requested, scored, skipped, summary, source), output)
