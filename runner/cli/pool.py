"""``airlock enqueue``, ``airlock worker`` and ``airlock status``: the worker pool."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Annotated

import typer

from runner.cli.errors import EXIT_USAGE, fail, output_console, user_errors


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
    """Publish one job per (submission, bundle, fold) to the broker (AIRLOCK_BROKER_URL)."""
    from runner.distributed.enqueue import build_jobs, resolve_image
    from runner.distributed.enqueue import enqueue as publish
    from runner.distributed.jobs import QUEUES
    from runner.distributed.tasks import make_app
    from runner.sandbox.docker.sandbox import DockerProvider

    if queue not in QUEUES:
        raise fail(f"--queue {queue!r}: use cpu or gpu", EXIT_USAGE)
    with user_errors():
        digest, default_team = resolve_image(DockerProvider(), image)
        jobs = build_jobs(
            image_digest=digest, suite=suite, results_uri=results, team=team or default_team,
            queue=queue, sealed=sealed, sealed_mode=sealed_mode,
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
            help="one-per-submission (never two folds of a submission at once on this host, "
            "whatever worker runs them), one-per-host, or concurrent (docs/security.md)."
        ),
    ] = "one-per-submission",
) -> None:
    """Consume jobs and run each fold exactly as `airlock run` does, in sealed containers."""
    from runner.distributed import tasks
    from runner.distributed.jobs import GPU, QUEUES
    from runner.sandbox.docker.sandbox import DockerProvider
    from runner.schedule import FoldSchedule

    try:
        schedule = FoldSchedule(fold_schedule)
    except ValueError:
        choices = ", ".join(s.value for s in FoldSchedule)
        raise fail(f"--fold-schedule {fold_schedule!r}: use one of {choices}", EXIT_USAGE) from None
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    if not wanted or any(q not in QUEUES for q in wanted):
        raise fail(f"--queues {queues!r}: use cpu, gpu or cpu,gpu", EXIT_USAGE)
    with user_errors():
        provider = DockerProvider()
        if GPU in wanted and not provider.gpu_capable():
            raise fail(
                "this engine has no 'nvidia' runtime: a worker without GPUs "
                "must not consume the gpu queue",
                EXIT_USAGE,
            )
        reaped = provider.reap()
    if leaderboard is not None:
        os.environ["AIRLOCK_LEADERBOARD_DIR"] = str(leaderboard)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("airlock.worker").info(
        "reaped %d leftover container(s); consuming %s", reaped, wanted
    )
    tasks._State.provider = provider
    tasks._State.schedule = schedule
    app = tasks.make_app()
    hostname = name or f"airlock@{socket.gethostname()}-{os.getpid()}"
    app.worker_main(
        [
            "worker",
            *("--queues", ",".join(wanted), "--concurrency", str(concurrency), "--pool", "threads"),
            *("--hostname", hostname, "--loglevel", "INFO", "--without-mingle", "--without-gossip"),
        ]
    )  # fmt: skip


def status(
    results: Annotated[
        str | None, typer.Option(help="The shared result store, for finished/failed counts.")
    ] = None,
) -> None:
    """Queue depth, running jobs per worker, and fold counts by status."""
    from rich.table import Table

    from runner.distributed.status import pool_status
    from runner.distributed.tasks import make_app
    from runner.results.store import store_at

    with user_errors():
        try:
            state = pool_status(make_app(), store_at(results) if results else None)
        except OSError as exc:
            raise fail(
                f"cannot reach the broker ({exc}); is AIRLOCK_BROKER_URL right?", 3
            ) from None
    console = output_console()
    queues = Table("queue", "waiting jobs", "consumers", title="Queues")
    for queue, depth in state.queues.items():
        queues.add_row(queue, str(depth), str(state.consumers.get(queue, 0)))
    console.print(queues)
    running = Table("worker", "running", title="Workers")
    for worker_name, jobs in state.running.items():
        running.add_row(worker_name, "\n".join(jobs) or "idle")
    console.print(running)
    if results:
        counts = Table("status", "folds", title=f"Stored folds ({results})")
        for name_, count in sorted(state.statuses.items()):
            counts.add_row(name_, str(count))
        console.print(counts)


def register(app: typer.Typer) -> None:
    app.command("enqueue")(enqueue)
    app.command("worker")(worker)
    app.command("status")(status)
