"""``airlock run``.

The options of ``run`` are declared once, as ``Annotated`` aliases, so its signature reads
as the list of what a run can be asked; the work is in small functions below it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.errors import (
    EXIT_FAILED,
    EXIT_INFRA,
    EXIT_USAGE,
    fail,
    output_console,
    user_errors,
)
from runner.cli.options import RuntimeOption

if TYPE_CHECKING:
    from rich.console import Console

    from runner.results.base import ResultStore
    from runner.run import RunRequest, StoredResult
    from runner.sandbox.base import SandboxProvider


class FoldScheduleOption(StrEnum):
    concurrent = "concurrent"
    one_per_submission = "one-per-submission"
    one_per_host = "one-per-host"


BundlesOption = Annotated[
    list[Path],
    typer.Option(
        "--bundle", "-b", help="Bundle directory, or a directory of bundles (repeatable)."
    ),
]
ImageOption = Annotated[
    str | None, typer.Option(help="Submission image (tag or id) on the local engine.")
]
CommandOption = Annotated[
    str | None,
    typer.Option(
        help="Instead of an image: run this command as a local process speaking the same "
        'protocol, e.g. "python model.py". Fast to iterate, NOT SEALED: no isolation.'
    ),
]
WorkdirOption = Annotated[Path, typer.Option(help="With --command: the directory it runs in.")]
SealedOption = Annotated[
    Path | None,
    typer.Option(
        help="Sealed labels kept apart from the bundle: DIR/<fold>/y.csv, or "
        "DIR/<bundle id>/<fold>/y.csv with several bundles. Default: <bundle>/sealed."
    ),
]
ResultsOption = Annotated[
    str,
    typer.Option(
        help="Result store: a directory, or s3://bucket/prefix (endpoint and credentials "
        "from the usual AWS environment)."
    ),
]
LocalCopyOption = Annotated[
    Path | None,
    typer.Option(help="With an s3:// store: where the local copy goes (default: results/)."),
]
JobsOption = Annotated[
    int, typer.Option(help="Folds run at the same time (within --fold-schedule).")
]
FoldScheduleChoice = Annotated[
    FoldScheduleOption | None,
    typer.Option(
        help="Whether folds of this submission may overlap on this host: concurrent, "
        "one-per-submission, one-per-host (one fold at a time on this host, its caches "
        "emptied before each; docs/security.md). Default: one-per-host with --sealed-mode, "
        "else concurrent.",
    ),
]
MemoryOption = Annotated[
    str | None, typer.Option(help="Ask for less memory than the bundle allows, e.g. 512MiB.")
]
CpusOption = Annotated[
    float | None, typer.Option(help="Ask for fewer CPUs than the bundle allows.")
]
GpusOption = Annotated[int | None, typer.Option(help="Ask for fewer GPUs than the bundle allows.")]
SealedModeOption = Annotated[
    bool,
    typer.Option(
        "--sealed-mode",
        help="Organizer mode: results hold statuses, metrics and resource figures only, "
        "nothing the submission wrote (its stderr stays in the store's logs/).",
    ),
]
LogLinesOption = Annotated[
    int | None,
    typer.Option(min=0, help="stderr lines shown per failed fold (default: 0 sealed, 20 dry run)."),
]
TeamOption = Annotated[
    str | None,
    typer.Option(help="Team name for leaderboards (default: the image's repository)."),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Run every fold again instead of reusing stored ones.")
]
FoldOption = Annotated[
    list[str] | None,
    typer.Option(
        "--fold",
        help="Run only this fold (repeatable; of every bundle that has it). The folds are "
        "stored and reused later; no result.json is written.",
    ),
]
FailFastOption = Annotated[
    bool,
    typer.Option(
        "--fail-fast",
        help="Start no further fold once one fails by the submission's fault (no "
        "result.json is written for a bundle with folds left).",
    ),
]
HandshakeOption = Annotated[
    float | None, typer.Option(help="Dry runs: a shorter handshake limit than the bundle's.")
]
FitOption = Annotated[
    float | None, typer.Option(help="Dry runs: a shorter fit limit than the bundle's.")
]
PredictOption = Annotated[
    float | None, typer.Option(help="Dry runs: a shorter predict limit than the bundle's.")
]
_PROBES = "Robustness probes after each fold's clean predict (docs/robustness.md): dropout,"
_PROBES += "noise,shift,permutation or all, at the bundle's levels or given (noise=0.5:1:2)."
ProbesOption = Annotated[str | None, typer.Option(help=_PROBES)]
RunQuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress and no table: only result lines and errors."),
]


def run(
    bundle: BundlesOption,
    image: ImageOption = None,
    command: CommandOption = None,
    workdir: WorkdirOption = Path("."),
    sealed: SealedOption = None,
    results: ResultsOption = "results",
    local_copy: LocalCopyOption = None,
    jobs: JobsOption = 1,
    fold_schedule: FoldScheduleChoice = None,
    memory: MemoryOption = None,
    cpus: CpusOption = None,
    gpus: GpusOption = None,
    sealed_mode: SealedModeOption = False,
    log_lines: LogLinesOption = None,
    team: TeamOption = None,
    force: ForceOption = False,
    fold: FoldOption = None,
    fail_fast: FailFastOption = False,
    handshake_seconds: HandshakeOption = None,
    fit_seconds: FitOption = None,
    predict_seconds: PredictOption = None,
    probes: ProbesOption = None,
    runtime: RuntimeOption = None,
    quiet: RunQuietOption = False,
) -> None:
    """Run a submission image (or a local command) on every fold and store the results.

    Exit codes: 0 every fold ok, 1 a fold failed, 2 bad input, 3 engine or store failure.
    """
    from runner.results.store import open_store

    console = output_console(stderr=True, quiet=quiet)
    if (image is None) == (command is None):
        raise fail("give exactly one of --image IMAGE or --command COMMAND", EXIT_USAGE)
    with user_errors():
        provider = _provider(console, command, workdir, runtime)
        if sealed_mode and jobs > 1 and fold_schedule is None:
            _note_one_fold_at_a_time(console, jobs)
        request = _request(
            image=image or f"command: {command}",
            bundles=bundle,
            sealed=sealed,
            jobs=jobs,
            schedule=fold_schedule,
            resources=(memory, cpus, gpus),
            sealed_mode=sealed_mode,
            log_lines=log_lines,
            force=force,
            team=team or ("local" if command is not None else ""),
            folds=tuple(fold or ()),
            fail_fast=fail_fast,
            times=(handshake_seconds, fit_seconds, predict_seconds),
            probes=probes,
            runtime=runtime,
        )
        store = open_store(results, local_copy)
        stored = _run_suite(provider, store, request, console, quiet=quiet, sealed=sealed_mode)
    _print_outcome(stored, quiet=quiet)
    _exit_for(stored)


def _provider(
    console: Console, command: str | None, workdir: Path, runtime: str | None
) -> SandboxProvider:
    """The local-process provider for --command (with its warnings), else Docker."""
    from runner.errors import UsageError
    from runner.sandbox.providers import provider_for

    if command is None:
        return provider_for("docker")
    if runtime is not None:
        raise UsageError(f"--runtime {runtime} runs containers; --command runs a local process")
    provider = provider_for("local", command=command, workdir=workdir)
    console.print(
        "[bold yellow]NOT SEALED[/]: --command runs the submission as a local process "
        "with no isolation (network, files, memory); results are marked isolation: none"
    )
    if note := _version_warning(command, workdir):
        typer.echo(note, err=True)  # even with --quiet: it may explain a score
    return provider


def _note_one_fold_at_a_time(console: Console, jobs: int) -> None:
    """Sealed mode's default schedule makes --jobs useless; say so rather than be slow."""
    console.print(
        f"note: sealed mode runs one fold at a time on this host "
        f"(--fold-schedule one-per-host), so --jobs {jobs} does not speed it up",
        markup=False,
        highlight=False,
    )


def _request(
    *,
    image: str,
    bundles: list[Path],
    sealed: Path | None,
    jobs: int,
    schedule: FoldScheduleOption | None,
    resources: tuple[str | None, float | None, int | None],
    sealed_mode: bool,
    log_lines: int | None,
    force: bool,
    team: str,
    folds: tuple[str, ...],
    fail_fast: bool,
    times: tuple[float | None, float | None, float | None],
    probes: str | None = None,
    runtime: str | None = None,
) -> RunRequest:
    """The run the options ask for: ``resources`` is (memory, cpus, gpus) and ``times`` the
    (handshake, fit, predict) seconds."""
    from runner.errors import UsageError
    from runner.probe_settings import parse_option
    from runner.run import ResourceRequest, RunRequest, TimeRequest
    from runner.schedule import FoldSchedule

    try:
        probe_request = parse_option(probes) if probes is not None else None
    except ValueError as exc:
        raise UsageError(f"--probes {probes}: {exc}") from None
    memory, cpus, gpus = resources
    return RunRequest(
        image=image,
        bundles=bundles,
        sealed=sealed,
        jobs=jobs,
        schedule=FoldSchedule(schedule.value) if schedule else None,
        resources=ResourceRequest(memory=memory, cpus=cpus, gpus=gpus),
        sealed_mode=sealed_mode,
        log_lines=log_lines,
        force=force,
        team=team,
        folds=folds,
        fail_fast=fail_fast,
        times=TimeRequest(*times),
        probes=probe_request,
        runtime=runtime,
    )


def _run_suite(
    provider: SandboxProvider,
    store: ResultStore,
    request: RunRequest,
    console: Console,
    *,
    quiet: bool,
    sealed: bool,
) -> list[StoredResult]:
    """Every fold of every bundle, with live progress unless ``quiet``."""
    from runner.cli.progress import ProgressListener
    from runner.run import RunListener, SuiteRunner

    if quiet:
        return SuiteRunner(provider, store, RunListener()).run(request)
    with ProgressListener(console, sealed=sealed) as listener:
        return SuiteRunner(provider, store, listener).run(request)


def _print_outcome(stored: list[StoredResult], *, quiet: bool) -> None:
    """The summary table, fixes and reuse count (unless ``quiet``), then one line per result."""
    from runner.cli.progress import fix_lines, summary_table

    if not quiet:
        output_console().print(summary_table(stored))
        for line in fix_lines(stored):
            typer.echo(f"fix {line}")
        reused = sum(1 for item in stored for f in item.result.folds if f.reused_from)
        if reused:
            typer.echo(
                f"reused {reused} finished fold(s) of earlier runs (--force runs them again)"
            )
    for item in stored:
        typer.echo(f"result: {item.location}" if item.location else item.note)


def _exit_for(stored: list[StoredResult]) -> None:
    """Exit 3 when any fold hit an infrastructure error, 1 when any other was not ok."""
    from runner.verdict import Status

    statuses = {fold.status for item in stored for fold in item.result.folds}
    if Status.INFRA_ERROR in statuses:
        raise typer.Exit(EXIT_INFRA)
    if statuses - {Status.OK}:
        raise typer.Exit(EXIT_FAILED)


def _version_warning(command: str, workdir: Path) -> str | None:
    """One line when the local interpreter's libraries differ from the image's base."""
    from runner import versions
    from runner.errors import InfraError

    base = versions.base_image(workdir)
    try:
        from runner.sandbox.providers import provider_for

        info = provider_for("docker", timeout=10).describe_image(base)
    except InfraError:
        return None  # no engine or no such image here: nothing to compare with
    there = versions.parse_versions(info.labels.get(versions.VERSIONS_LABEL, ""))
    local = versions.local_versions(command, sorted(there), workdir)
    return versions.warning(base, versions.differences(local or {}, there))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
