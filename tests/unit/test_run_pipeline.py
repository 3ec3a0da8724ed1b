"""A dry run scores behind its containers: as soon as a fold's container is gone and judged,
the next fold's container may start while the first is still being scored (waiting for the
metrics import, most of a second, is the usual reason). What must not change: never more
containers at once than ``--jobs``, ``--fail-fast`` starts nothing after a fault, and under
a sealed schedule no container runs while a fold's sealed labels are read and scored.
Runs against the engine double (tests/doubles/docker_engine.py), no Docker needed."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import runner.evaluate
from runner.results.store import LocalResultStore
from runner.run import RunRequest, SuiteRunner
from runner.sandbox.docker.sandbox import DockerProvider
from runner.schedule import FoldSchedule
from tests.doubles.docker_engine import FakeEngine
from tests.helpers import REPO

BEHAVE = REPO / "tests" / "fixtures" / "behave" / "behave.py"
BUNDLE = REPO / "task_bundles" / "synth-loco-3class"  # four folds


class CountingEngine(FakeEngine):
    """The double, also keeping a timeline of container starts and the most alive at once."""

    def __init__(self, images: dict[str, list[str]]) -> None:
        super().__init__(images)
        self.lock = threading.Lock()
        self.alive = self.most_alive = 0
        self.starts: list[float] = []

    def start(self, container_id: str) -> None:
        with self.lock:
            self.alive += 1
            self.most_alive = max(self.most_alive, self.alive)
            self.starts.append(time.monotonic())
        super().start(container_id)

    def remove(self, container_id: str) -> None:
        known = container_id in self._containers
        super().remove(container_id)
        if known:
            with self.lock:
                self.alive -= 1


def _engine(behaviour: str) -> CountingEngine:
    argv = ["env", f"AIRLOCK_TEST_BEHAVIOUR={behaviour}", sys.executable, str(BEHAVE)]
    return CountingEngine({behaviour: argv})


def _run(engine: CountingEngine, behaviour: str, tmp_path: Path, **request: Any) -> Any:
    suite = SuiteRunner(DockerProvider(engine), LocalResultStore(tmp_path / "results"))  # type: ignore[arg-type]
    return suite.run(RunRequest(image=behaviour, bundles=[BUNDLE], **request))


SCORE_SECONDS, IMPORT_SECONDS = 0.6, 1.0


@pytest.fixture
def slow_scoring(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """After its verdict a fold waits IMPORT_SECONDS for the metrics import, as a cold
    process waits for scikit-learn, then scoring takes SCORE_SECONDS. Returned: each
    fold's window from the start of that wait to the end of its scoring."""
    windows: list[tuple[float, float]] = []
    waiting_since = threading.local()
    real_score, real_load = runner.evaluate.score, runner.evaluate.load_metrics

    def cold_import() -> float:
        waiting_since.value = time.monotonic()
        time.sleep(IMPORT_SECONDS)
        return IMPORT_SECONDS + real_load()

    def slow_score(*args: Any) -> Any:
        time.sleep(SCORE_SECONDS)
        try:
            return real_score(*args)
        finally:
            windows.append((waiting_since.value, time.monotonic()))

    monkeypatch.setattr(runner.evaluate, "score", slow_score)
    monkeypatch.setattr(runner.evaluate, "load_metrics", cold_import)
    return windows


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_next_container_starts_while_the_last_fold_is_scored(
    jobs: int, tmp_path: Path, slow_scoring: list[tuple[float, float]]
) -> None:
    engine = _engine("noop")
    (stored,) = _run(engine, "noop", tmp_path, jobs=jobs)
    folds = stored.result.folds
    assert [f.status for f in folds] == ["ok"] * 4
    assert stored.result.aggregate.complete
    assert engine.most_alive == jobs  # never more containers than --jobs, and no fewer
    first_scored = min(end for _, end in slow_scoring)
    assert sorted(engine.starts)[jobs] < first_scored, "containers waited for scoring"
    # A fold's wall time counts its own scoring, not the wait for the runner's import.
    walls = [f.resources.wall_seconds for f in folds]
    assert all(SCORE_SECONDS <= wall < SCORE_SECONDS + IMPORT_SECONDS for wall in walls), walls


def test_under_a_sealed_schedule_no_container_runs_while_a_fold_is_scored(
    tmp_path: Path, slow_scoring: list[tuple[float, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRLOCK_LOCK_DIR", str(tmp_path / "locks"))
    engine = _engine("noop")
    (stored,) = _run(engine, "noop", tmp_path, jobs=2, schedule=FoldSchedule.ONE_PER_SUBMISSION)
    assert [f.status for f in stored.result.folds] == ["ok"] * 4
    assert engine.most_alive == 1
    assert len(slow_scoring) == 4
    assert not [s for s in engine.starts if any(a <= s <= b for a, b in slow_scoring)]


def test_fail_fast_starts_no_container_after_a_fault(tmp_path: Path) -> None:
    engine = _engine("crash_fit")
    (stored,) = _run(engine, "crash_fit", tmp_path, fail_fast=True)
    assert len(engine.starts) == 1
    assert stored.location is None and "--fail-fast stopped the run" in stored.note
