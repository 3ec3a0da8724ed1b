"""What a running server knows: the competition, its bundles per phase, the database, the
result store and the engine. Built once by ``airlock serve``; the API and the executor
both read it."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from runner.bundle.load import Bundle
from runner.competition.config import Competition, Phase
from runner.competition.db import Database, PhaseState
from runner.plan import load_for_run
from runner.results.base import ResultStore
from runner.sandbox.base import SandboxProvider


@dataclass
class ServerState:
    competition: Competition
    db: Database
    store: ResultStore
    provider: SandboxProvider | None
    """None for a server that hands folds to a worker pool and has no engine of its own."""
    bundles: dict[str, list[Bundle]] = field(default_factory=dict)
    """Per phase: its bundles, loaded and verified against their sealed labels."""
    uploads: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    broker: str | None = None
    registry: str | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    """Set when a submission is queued: the executor starts at once instead of polling."""
    runtime: str = "runc"
    """The container runtime of the embedded executor's folds (``airlock serve --runtime``)."""

    def phase(self, name: str) -> Phase | None:
        return self.competition.phase(name)

    def folds_of(self, phase: str) -> list[tuple[str, str]]:
        return [(b.spec.id, f) for b in self.bundles[phase] for f in b.spec.folds]


def load_phases(competition: Competition) -> dict[str, list[Bundle]]:
    """Every phase's bundles, verified now (a server must not accept submissions for a
    suite it cannot score)."""
    return {phase.name: load_for_run([phase.bundles], phase.sealed) for phase in competition.phases}


def record_phases(db: Database, competition: Competition) -> None:
    """One row per phase (its reveal state), created once."""
    with db.transaction() as session:
        for phase in competition.phases:
            if session.get(PhaseState, phase.name) is None:
                session.add(PhaseState(name=phase.name, revealed_at=None))
