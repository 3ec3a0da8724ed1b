"""``airlock enqueue``, ``airlock worker`` and ``airlock status``: the worker pool."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from runner.cli.errors import EXIT_INFRA, EXIT_USAGE, fail, output_console, user_errors
from runner.cli.options import RuntimeOption

if TYPE_CHECKING:
    from runner.distributed.status import PoolStatus
    from runner.schedule import FoldSchedule


def enqueue(
    image: Annotated[
        str, typer.Option(help="Submission image, pushed to a registry (tag or @digest).")
    ],
    suite: Annotated[
        Path,
        typer.Option(help="A bundle directory or a directory of bundles (shared with workers)."),
    ],
    results: Annotated[
        str, typer.Option(help="The shared result store: directory or s3://bucket/prefix.")
    ],
    team: Annotated[
        str | None, typer.Option(help="Team name (default: the image repository).")
    ] = None,
    queue: Annotated[str, typer.Option(help="cpu, or gpu for bundles that ask for GPUs.")] = "cpu",
    sealed: Annotated[
        Path | None,
        typer.Option(help="The organizer's sealed labels (DIR/<bundle id>/<fold>/y.csv), shared."),
    ] = None,
    sealed_mode: Annotated[
        bool, typer.Option(help="Results without submission-written text (default for the pool).")
    ] = True,
) -> None:
    """Publish one job per (submission, bundle, fold) to the broker (AIRLOCK_BROKER_URL).

    Every bundle and its sealed labels are checked first, as a worker checks them: nothing is
    published when one would be refused."""
    from runner.distributed.enqueue import build_jobs, check_suite, local_image_id, resolve_image
    from runner.distributed.enqueue import enqueue as publish
    from runner.distributed.jobs import QUEUES
    from runner.distributed.tasks import make_app
    from runner.sandbox.providers import provider_for

    if queue not in QUEUES:
        raise fail(f"--queue {queue!r}: use cpu or gpu", EXIT_USAGE)
    with user_errors():
        checked = check_suite(suite, sealed, queue)
        provider = provider_for("docker")
        digest, default_team = resolve_image(provider, image)
        jobs = build_jobs(
            image_digest=digest, checked=checked, results_uri=results,
            team=team or default_team, queue=queue, sealed_mode=sealed_mode,
            image_id=local_image_id(provider, digest),
        )  # fmt: skip
        publish(make_app(), jobs)
    typer.echo(
        f"enqueued {len(jobs)} job(s) for {digest} (suite {jobs[0].suite_id if jobs else '-'})"
    )


def worker(
    queues: Annotated[str, typer.Option(help="Queues to consume: cpu, gpu or cpu,gpu.")] = "cpu",
    concurrency: Annotated[int, typer.Option(min=1, help="Folds run at the same time.")] = 1,
    name: Annotated[
        str | None, typer.Option(help="Worker name (default: airlock@<host>-<pid>).")
    ] = None,
    leaderboard: Annotated[
        Path | None,
        typer.Option(help="Rewrite the leaderboard here whenever a submission completes."),
    ] = None,
    fold_schedule: Annotated[
        str,
        typer.Option(
            help="one-per-host (one fold at a time on this host, its caches emptied before "
            "each: the sealed default), one-per-submission, or concurrent (docs/security.md)."
        ),
    ] = "one-per-host",
    runtime: RuntimeOption = None,
) -> None:
    """Consume jobs and run each fold exactly as `airlock run` does, in sealed containers."""
    from runner.distributed import tasks
    from runner.distributed.jobs import GPU, QUEUES
    from runner.sandbox.providers import provider_for

    schedule = _schedule(fold_schedule)
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    if not wanted or any(q not in QUEUES for q in wanted):
        raise fail(f"--queues {queues!r}: use cpu, gpu or cpu,gpu", EXIT_USAGE)
    with user_errors():
        provider = provider_for("docker")
        if GPU in wanted and not provider.gpu_capable():
            raise fail(
                "this engine has no 'nvidia' runtime: a worker without GPUs "
                "must not consume the gpu queue",
                EXIT_USAGE,
            )
        runtime = provider.resolve_runtime(runtime) or "runc"
        provider.check_runtime(runtime)
        reaped = provider.reap()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("airlock.worker").info(
        "reaped %d leftover container(s); consuming %s under %s", reaped, wanted, runtime
    )
    context = tasks.WorkerContext(
        schedule=schedule, leaderboard=leaderboard, provider=provider, runtime=runtime
    )
    tasks.keep_reaping(context)
    app = tasks.make_app(context=context)
    hostname = name or f"airlock@{socket.gethostname()}-{os.getpid()}"
    app.worker_main(
        [
            "worker",
            *("--queues", ",".join(wanted), "--concurrency", str(concurrency), "--pool", "threads"),
            *("--hostname", hostname, "--loglevel", "INFO", "--without-mingle", "--without-gossip"),
        ]
    )  # fmt: skip


def _schedule(name: str) -> FoldSchedule:
    from runner.schedule import FoldSchedule

    try:
        return FoldSchedule(name)
    except ValueError:
        choices = ", ".join(s.value for s in FoldSchedule)
        raise fail(f"--fold-schedule {name!r}: use one of {choices}", EXIT_USAGE) from None


def status(
    results: Annotated[
        str | None,
        typer.Option(help="The shared result store: fold counts by status, infra_error reasons."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (queues, workers, folds).")
    ] = False,
) -> None:
    """Queue depth, running jobs per worker, and stored folds by status with infra_error reasons.

    A job a worker could not run is stored as an infra_error fold with its reason, never
    dropped; --json prints queues, workers, fold counts and those folds as one object."""
    from runner.distributed.status import broker_status, store_status
    from runner.distributed.tasks import make_app
    from runner.results.store import store_at

    with user_errors():
        try:
            state = broker_status(make_app())
        except OSError as exc:
            raise fail(
                f"cannot reach the broker ({exc}); is AIRLOCK_BROKER_URL right?", EXIT_INFRA
            ) from None
        if results:
            state.store = store_status(store_at(results))
    if as_json:
        typer.echo(json.dumps(state.as_json(), indent=2))
        return
    _print_status(state)


def _print_status(state: PoolStatus) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = output_console()
    queues = Table("queue", "waiting jobs", "consumers", title="Queues")
    for queue, depth in state.queues.items():
        queues.add_row(queue, str(depth), str(state.consumers.get(queue, 0)))
    console.print(queues)
    running = Table("worker", "running", title="Workers")
    for worker_name, jobs in state.running.items():
        described = [f"{j['bundle_id']}/{j['fold_id']} ({j['image']})" for j in jobs]
        running.add_row(escape(worker_name), escape("\n".join(described)) or "idle")
    console.print(running)
    store = state.store
    if store is None:
        return
    counts = Table("status", "folds", title=f"Stored folds ({escape(store.where)})")
    for name_, count in sorted(store.statuses.items()):
        counts.add_row(name_, str(count))
    console.print(counts)
    if store.infra_errors:
        failed = Table("result key", "fold", "reason", title="infra_error folds (not run)")
        for fold in store.infra_errors:
            failed.add_row(escape(fold.key), escape(fold.fold_id), escape(fold.reason))
        console.print(failed)
        console.print(
            "Fix the cause, then enqueue the submission again: stored folds are kept, "
            "infra_error folds run again."
        )
    if store.unreadable:
        console.print(
            f"{len(store.unreadable)} record(s) are not fold records of this Airlock version, "
            f"e.g. under {escape(store.unreadable[0])}"
        )


def register(app: typer.Typer) -> None:
    app.command("enqueue")(enqueue)
    app.command("worker")(worker)
    app.command("status")(status)
