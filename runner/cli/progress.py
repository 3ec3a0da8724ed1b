"""Drawing a run: a live line per fold while it runs, a summary table at the end."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from runner.run import RunListener, StoredResult

if TYPE_CHECKING:
    from rich.progress import TaskID

    from runner.evaluate import FoldReport

_STYLE = {"ok": "green", "infra_error": "magenta"}


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.0f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class ProgressListener(RunListener):
    """Rich progress: an overall bar and one line per running fold."""

    def __init__(self, console: Console, *, sealed: bool = False) -> None:
        self._console = console
        self._sealed = sealed
        # Sealed runs show no live phase or clock: watching a fold move from phase to phase
        # would time it far more finely than its sealed result does.
        clock = [] if sealed else [TimeElapsedColumn()]
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            *clock,
            console=console,
            transient=True,
        )
        self._overall: TaskID | None = None
        self._folds: dict[tuple[str, str], TaskID] = {}
        self._tails_shown: dict[tuple[str, ...], str] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressListener:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._overall is not None:
            self._progress.stop()

    def run_started(self, folds: list[tuple[str, str]]) -> None:
        # Drawn only once folds start: an error before that stays one clean line.
        self._progress.start()
        self._overall = self._progress.add_task("folds", total=len(folds))

    def fold_phase(self, bundle_id: str, fold_id: str, phase: str) -> None:
        if self._sealed:
            return
        with self._lock:
            key = (bundle_id, fold_id)
            text = f"{bundle_id}/{fold_id}: {phase}"
            if key not in self._folds:
                self._folds[key] = self._progress.add_task(text, total=None)
            else:
                self._progress.update(self._folds[key], description=text)

    def fold_finished(self, bundle_id: str, report: FoldReport) -> None:
        fold = report.result
        with self._lock:
            task = self._folds.pop((bundle_id, fold.fold_id), None)
            if task is not None:
                self._progress.remove_task(task)
            if self._overall is not None:
                self._progress.advance(self._overall)
        reason = f" - {fold.reason}" if fold.reason else ""
        if fold.reused_from:
            reason += f" (reused from run {fold.reused_from})"
        # Reasons may quote the submission (escaped, capped): plain Text, never markup.
        line = Text(f"{fold.status:>19}", style=_STYLE.get(fold.status, "red"))
        line.append(f"  {bundle_id}/{fold.fold_id}  ({fold.resources.wall_seconds:.1f} s){reason}")
        self._console.print(line, highlight=False, soft_wrap=True)
        self._print_tail(f"{bundle_id}/{fold.fold_id}", fold.log_tail)

    def _print_tail(self, name: str, lines: list[str]) -> None:
        """The submission's last stderr lines (dry runs); identical tails are shown once."""
        if not lines:
            return
        key = tuple(lines)
        with self._lock:
            first = self._tails_shown.setdefault(key, name)
        if first != name:
            self._console.print(f"{'':21}stderr: as {first}", highlight=False, markup=False)
            return
        self._console.print(f"{'':21}last stderr lines:", highlight=False, markup=False)
        for line in lines:
            self._console.print(
                Text(f"{'':21}| {line}", style="dim"), highlight=False, soft_wrap=True
            )


def fix_lines(stored: list[StoredResult]) -> list[str]:
    """One line per failed status in the run: what to do about it."""
    from runner.fixes import fix_for
    from runner.verdict import Status

    statuses = sorted({f.status for item in stored for f in item.result.folds} - {Status.OK})
    return [f"{status}: {fix_for(Status(status))} (docs/errors.md)" for status in statuses]


def summary_table(stored: list[StoredResult]) -> Table:
    """One row per fold: status, primary metric, phase costs; one line per bundle's mean."""
    table = Table(title="Airlock run summary")
    for column in (
        "bundle",
        "fold",
        "status",
        "metric",
        "value",
        "fit s",
        "predict s",
        "cpu s",
        "peak MiB",
    ):
        table.add_column(
            column,
            justify="right"
            if column in {"value", "fit s", "predict s", "cpu s", "peak MiB"}
            else "left",
        )
    for item in stored:
        result = item.result
        metric = result.primary_metric
        for fold in result.folds:
            phases = fold.resources.phases
            value = fold.metrics.get(metric)
            style = _STYLE.get(fold.status, "red")
            table.add_row(
                Text(result.provenance.bundle_id),
                Text(fold.fold_id),
                Text(fold.status, style=style),
                metric,
                "-" if value is None else f"{value:.3f}",
                _seconds(phases["fit"].wall_seconds if "fit" in phases else None),
                _seconds(phases["predict"].wall_seconds if "predict" in phases else None),
                _seconds(fold.resources.cpu_seconds),
                _mib(fold.resources.peak_memory_bytes),
            )
        agg = result.aggregate
        mean = "-" if agg.mean is None else f"{agg.mean:.3f} ± {agg.sd or 0:.3f}"
        failed = f" ({len(agg.failed_folds)} failed)" if agg.failed_folds else ""
        table.add_row(
            result.provenance.bundle_id,
            "[b]mean[/b]",
            f"{agg.n_scored}/{agg.n_folds} scored{failed}",
            metric,
            mean,
            "",
            "",
            "",
            "",
            end_section=True,
        )
    return table
