"""A run scores behind its containers: as soon as a fold's container is gone and judged,
the next fold's container may start while the first is still being scored (waiting for the
metrics import, most of a second, is the usual reason). What must not change: never more
containers at once than ``--jobs``, and ``--fail-fast`` starts nothing after a fault.
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


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_next_container_starts_while_the_last_fold_is_scored(
    jobs: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scoring: list[tuple[float, float]] = []
    real_score = runner.evaluate.score

    def slow_score(*args: Any) -> Any:
        began = time.monotonic()
        time.sleep(0.6)  # as long as the first fold's wait for the metrics import
        try:
            return real_score(*args)
        finally:
            scoring.append((began, time.monotonic()))

    monkeypatch.setattr(runner.evaluate, "score", slow_score)
    engine = _engine("noop")
    (stored,) = _run(engine, "noop", tmp_path, jobs=jobs)
    folds = stored.result.folds
    assert [f.status for f in folds] == ["ok"] * 4
    assert stored.result.aggregate.complete
    assert engine.most_alive == jobs  # never more containers than --jobs, and no fewer
    first_scored = min(end for _, end in scoring)
    assert sorted(engine.starts)[jobs] < first_scored, "containers waited for scoring"
    # The wall time of a fold is its own: not the time it waited on scoring behind others.
    assert all(f.resources.wall_seconds < 0.6 + 5 for f in folds)


def test_fail_fast_starts_no_container_after_a_fault(tmp_path: Path) -> None:
    engine = _engine("crash_fit")
    (stored,) = _run(engine, "crash_fit", tmp_path, fail_fast=True)
    assert len(engine.starts) == 1
    assert stored.location is None and "--fail-fast stopped the run" in stored.note
