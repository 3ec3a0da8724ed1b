"""``airlock serve``: the database migrated, the phases' bundles verified, the executor
started (the embedded worker loop, or the hand-over to a worker pool), the API served."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from runner.competition.config import load_competition
from runner.competition.db import Database
from runner.competition.state import ServerState, load_phases, record_phases
from runner.errors import UsageError
from runner.sandbox.runtimes import refusal


@dataclass(frozen=True)
class ServeOptions:
    competition: Path
    db: str
    host: str = "127.0.0.1"
    port: int = 8000
    broker: str | None = None
    registry: str | None = None
    uploads: Path | None = None
    runtime: str | None = None
    """``--runtime``; None: the engine's default."""


def build_state(options: ServeOptions) -> ServerState:
    """Everything the server needs, checked before it listens (bad input fails here)."""
    from runner.results.store import store_at

    competition = load_competition(options.competition)
    probed = [p.name for p in competition.phases if p.probes is not None]
    if options.broker is not None and probed:
        raise UsageError(
            f"phase {probed[0]} asks for robustness probes, which the worker pool does not "
            "run: serve it without --broker (the embedded executor runs them)"
        )
    db = Database(options.db)
    db.migrate()
    record_phases(db, competition)
    provider = None
    if options.broker is None or options.registry is not None:
        from runner.sandbox.providers import provider_for

        provider = provider_for("docker")
    state = ServerState(
        competition=competition,
        db=db,
        store=store_at(competition.results),
        provider=provider,
        bundles=load_phases(competition),
        broker=options.broker,
        registry=options.registry,
        runtime=(provider.resolve_runtime(options.runtime) if provider else None) or "runc",
    )
    if options.broker is None:
        _check_runtime(state)
    if options.uploads is not None:
        options.uploads.mkdir(parents=True, exist_ok=True)
        state.uploads = options.uploads
    return state


def _check_runtime(state: ServerState) -> None:
    """The embedded executor's runtime exists and every phase's bundles allow it: refused
    before the server accepts a submission it could not run."""
    assert state.provider is not None
    state.provider.check_runtime(state.runtime)
    kind = state.provider.runtime_kind(state.runtime)
    for bundles in state.bundles.values():
        for bundle in bundles:
            how = "start airlock serve with --runtime runsc"
            why = refusal(bundle.spec.id, bundle.spec.required_runtime, state.runtime, kind, how)
            if why:
                raise UsageError(why)


def serve(options: ServeOptions) -> None:
    import uvicorn

    from runner.competition.api import create_app

    state = build_state(options)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    executor = _executor(state)
    executor.start()
    try:
        config = uvicorn.Config(
            create_app(state), host=options.host, port=options.port, log_level="warning"
        )
        uvicorn.Server(config).run()
    finally:
        executor.stop()


def _executor(state: ServerState):  # type: ignore[no-untyped-def]
    if state.broker is not None:
        from runner.competition.pool import PoolExecutor

        return PoolExecutor(state)
    from runner.competition.executor import Executor

    return Executor(state)
