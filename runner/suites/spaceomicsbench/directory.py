"""A prediction directory, as ``airlock score spaceomicsbench`` takes it: which ``<TASK>.json``
files count, each checked against the truth rebuilt from the source, then scored and laid
out as the harness's result file.

Bad command-line input (no such directory, an unknown ``--task``, a source whose truth
cannot be built) raises ``UsageError``; problems in the files are collected, one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.suites.spaceomicsbench import output, scoring, truth
from runner.suites.spaceomicsbench.predictions import TaskPredictions, read_task_predictions


@dataclass
class CheckedDirectory:
    """The files asked for, checked: their problems, the tasks that can be scored (truth
    and predictions), and the tasks whose truth the source cannot give (task -> reason)."""

    predictions: Path
    source: Path
    task: str
    problems: list[str] = field(default_factory=list)
    checked: list[tuple[truth.TaskTruth, TaskPredictions]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def check_directory(
    predictions: Path, source: Path, task: str, note: Callable[[str], None]
) -> CheckedDirectory:
    """Check the files ``task`` asks for (a task id or ``all``); ``note`` hears each task
    skipped for lack of source data, as it happens."""
    if not predictions.is_dir():
        raise UsageError(f"{predictions}: not a directory of <TASK>.json files")
    if not (source / "tasks").is_dir():
        raise UsageError(
            f"--source {source}: no tasks/ directory; expected a SpaceOmicsBench checkout"
        )
    directory = CheckedDirectory(predictions, source, task)
    present = {p.stem: p for p in sorted(predictions.glob("*.json"))}
    directory.problems = [
        f"{path}: not a SpaceOmicsBench task id (tasks are {', '.join(truth.TASK_IDS)})"
        for task_id, path in present.items()
        if task_id not in truth.TASK_IDS
    ]
    for task_id in _wanted(directory, present):
        try:
            task_truth = truth.load_task(source, task_id)
        except truth.SourceMissing as missing:
            directory.skipped[task_id] = str(missing)
            note(f"{task_id}: {missing}; not scored")
            continue
        except (truth.SourceInvalid, OSError, ValueError, KeyError) as exc:
            raise UsageError(f"{task_id}: cannot build the truth from {source}: {exc}") from None
        found = read_task_predictions(present[task_id], task_truth)
        directory.problems += found.problems
        directory.checked.append((task_truth, found))
    return directory


def _wanted(directory: CheckedDirectory, present: dict[str, Path]) -> list[str]:
    """The task ids to score, in the benchmark's order; a requested file that is absent is
    a problem."""
    task = directory.task
    if task == "all":
        wanted = [t for t in truth.TASK_IDS if t in present]
        if not wanted and not directory.problems:
            raise UsageError(f"{directory.predictions}: no <TASK>.json prediction files")
        return wanted
    if task not in truth.TASK_IDS:
        raise UsageError(f"--task {task!r}: not a task id ({', '.join(truth.TASK_IDS)}) or 'all'")
    if task not in present:
        directory.problems.append(
            f"{directory.predictions / (task + '.json')}: no prediction file for task {task}"
        )
        return []
    return [task]


def score_directory(directory: CheckedDirectory) -> tuple[dict[str, Any], list[str]]:
    """The result file of a directory without problems, and the lines that summarize it
    (each task's primary metric and warnings, then the composite)."""
    if directory.problems:
        raise ValueError("score_directory() needs a directory that passed check_directory()")
    scored: dict[str, scoring.ScoredTask] = {}
    lines = []
    for task_truth, found in directory.checked:
        scored[task_truth.task_id] = task = scoring.score_task(task_truth, found)
        primary = task.primary
        shown = "undefined" if primary is None else f"{primary['mean']:.4f} ± {primary['std']:.4f}"
        lines.append(f"  {task_truth.task_id:<3} {task_truth.primary_metric:<9} {shown}")
        lines += [f"      warning: {warning}" for warning in task_truth.warnings]
    summary = scoring.summarize(scored)
    if summary["composite"] is not None:
        lines.append(
            f"  composite {summary['composite']:.4f} over {summary['n_categories']} categories"
        )
    requested = list(output.HARNESS_TASK_ORDER) if directory.task == "all" else [directory.task]
    document = output.document(requested, scored, directory.skipped, summary, directory.source)
    return document, lines
