"""``airlock serve``, ``airlock teams``, ``airlock login``, ``airlock submit`` and
``airlock submissions``: hosting a competition, and taking part in one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from runner.cli.errors import EXIT_FAILED, EXIT_INFRA, EXIT_USAGE, fail, user_errors
from runner.cli.options import RuntimeOption

if TYPE_CHECKING:
    from runner.competition.client import Client

DEFAULT_DB = "sqlite:///competition.db"
DbOption = Annotated[
    str,
    typer.Option(
        help="The database: sqlite:///FILE (the default) or postgresql://user:pass@host/db."
    ),
]
ServerOption = Annotated[
    str | None, typer.Option(help="The competition server (default: the one of `airlock login`).")
]

teams_app = typer.Typer(help="Teams of a hosted competition (organizer).", no_args_is_help=True)


def serve(
    competition: Annotated[Path, typer.Argument(help="The competition.yaml.")],
    db: DbOption = DEFAULT_DB,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    broker: Annotated[
        str | None,
        typer.Option(
            help="amqp://... : hand folds to the worker pool instead of running them here."
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="With --broker: the registry (host:port) workers pull images from."),
    ] = None,
    uploads: Annotated[
        Path | None, typer.Option(help="Where uploads wait while they are checked (default: /tmp).")
    ] = None,
    runtime: RuntimeOption = None,
) -> None:
    """Host a competition: an HTTP API (OpenAPI at /docs) and its executor."""
    from runner.competition.server import ServeOptions
    from runner.competition.server import serve as run_server

    if broker is not None and registry is None:
        raise fail(
            "--broker needs --registry: workers pull submissions' images from it", EXIT_USAGE
        )
    if broker is not None and runtime is not None:
        raise fail("with --broker the workers run the folds: give them --runtime", EXIT_USAGE)
    with user_errors():
        options = ServeOptions(competition, db, host, port, broker, registry, uploads, runtime)
        run_server(options)


@teams_app.command("add")
def add_team(
    name: Annotated[str, typer.Argument(help="Team name.")], db: DbOption = DEFAULT_DB
) -> None:
    """Add a team and print its token (shown once; only its hash is kept)."""
    from runner.competition import teams

    with user_errors():
        database = _database(db)
        token = teams.add_team(database, name)
    typer.echo(f"team {name}: token {token}")
    typer.echo("give it to the team once; it cannot be shown again (revoke and add to reissue)")


@teams_app.command("list")
def list_teams(db: DbOption = DEFAULT_DB) -> None:
    """List the teams."""
    from runner.competition import teams

    with user_errors():
        for team in teams.list_teams(_database(db)):
            state = "revoked" if team.revoked else "active"
            typer.echo(f"{team.name}\t{state}\tsince {team.created_at:%Y-%m-%d %H:%M} UTC")


@teams_app.command("revoke")
def revoke_team(
    name: Annotated[str, typer.Argument(help="Team name.")], db: DbOption = DEFAULT_DB
) -> None:
    """Revoke a team's token (its submissions stay)."""
    from runner.competition import teams

    with user_errors():
        teams.revoke_team(_database(db), name)
    typer.echo(f"team {name}: token revoked")


@teams_app.command("organizer-token")
def organizer_token(db: DbOption = DEFAULT_DB) -> None:
    """Make a new organizer token (for /api/v1/admin); the old one stops working."""
    from runner.competition import teams

    with user_errors():
        token = teams.rotate_organizer_token(_database(db))
    typer.echo(f"organizer token {token}")


def _database(url: str) -> Any:
    from runner.competition.db import Database

    database = Database(url)
    database.migrate()
    return database


def login(
    server: Annotated[str, typer.Argument(help="The competition server's address.")],
    token: Annotated[str, typer.Option(help="Your team's token.", prompt=True, hide_input=True)],
) -> None:
    """Keep the server and your team's token (in your config dir, mode 0600)."""
    from runner.competition.client import Client, Login, save_login

    login_ = Login(server.rstrip("/"), token.strip())
    with user_errors():
        Client(login_).phases()  # the token works
        path = save_login(login_)
    typer.echo(f"logged in to {login_.server} (saved in {path})")


def submit(
    image: Annotated[str, typer.Argument(help="Your submission image (tag or id).")],
    server: ServerOption = None,
    phase: Annotated[str | None, typer.Option(help="The phase (default: the open one).")] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once it is accepted.")] = False,
) -> None:
    """Send your image to the competition server for a sealed evaluation."""
    from runner.competition.client import Client, current_login
    from runner.sandbox.providers import provider_for

    with user_errors():
        client = Client(current_login(server), timeout=120)
        archive = provider_for("docker").save_image(image)
        accepted = client.submit(archive, phase)
    typer.echo(
        f"submission {accepted['id']} accepted for phase {accepted['phase']} ({accepted['status']})"
    )
    if no_wait:
        typer.echo(f"follow it with: airlock submissions {accepted['id']}")
        return
    shown = _follow(client, accepted)
    _print_submission(shown)
    raise typer.Exit(_exit_code(shown))


def submissions(
    submission_id: Annotated[str | None, typer.Argument(help="Show this one.")] = None,
    server: ServerOption = None,
) -> None:
    """List your team's submissions, or show one."""
    from runner.competition.client import Client, current_login

    with user_errors():
        client = Client(current_login(server))
        if submission_id is None:
            for item in client.submissions():
                typer.echo(
                    f"{item['id']}  {item['phase']:<12} {item['status']:<12} {item['created_at']}"
                )
            return
        _print_submission(client.submission(submission_id))


def _follow(client: Client, accepted: dict[str, Any]) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn

    from runner.cli.errors import output_console

    shown = accepted
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
    )
    with Progress(*columns, console=output_console(stderr=True), transient=True) as progress:
        bar = progress.add_task("folds done", total=len(shown["folds"]))
        while shown["status"] in ("loading", "queued", "running"):
            time.sleep(1.0)
            shown = client.submission(shown["id"])
            progress.update(bar, completed=sum(1 for f in shown["folds"] if f["state"] == "done"))
    return shown


def _print_submission(shown: dict[str, Any]) -> None:
    from runner.fixes import fix_for
    from runner.verdict import Status

    typer.echo(f"submission {shown['id']} ({shown['phase']}): {shown['status']}")
    if shown.get("note"):
        typer.echo(f"  {shown['note']}")
    failed = set()
    for fold in shown["folds"]:
        result = fold.get("result") or {}
        metrics = result.get("metrics") or {}
        scores = "  ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float))
        reason = f" - {result['reason']}" if result.get("reason") else ""
        where = f"{fold['bundle']}/{fold['fold']}"
        typer.echo(f"  {fold['status'] or fold['state']:>19}  {where}{reason}  {scores}")
        if fold["status"] not in (None, "ok"):
            failed.add(fold["status"])
    if not shown.get("scores_visible"):
        typer.echo("  scores of this phase are hidden until the organizer reveals it")
    for status in sorted(failed):
        typer.echo(f"fix {status}: {fix_for(Status(status))} (docs/errors.md)")


def _exit_code(shown: dict[str, Any]) -> int:
    statuses = {f["status"] for f in shown["folds"]}
    if shown["status"] == "infra_error" or "infra_error" in statuses:
        return EXIT_INFRA
    return 0 if statuses <= {"ok"} else EXIT_FAILED


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(teams_app, name="teams")
    app.command("login")(login)
    app.command("submit")(submit)
    app.command("submissions")(submissions)
