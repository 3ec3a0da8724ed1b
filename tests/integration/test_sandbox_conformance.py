"""One set of cases, two engines: the Docker sandbox against the engine double
(tests/doubles/docker_engine.py, no Docker needed) and against a real Docker engine. Both
must give the same verdicts, reasons, exit codes and stderr, so the double can stand in for
the engine in unit tests of the sandbox's stream loop, deadlines and kill/drain logic."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.evaluate import FoldJob, FoldReport, LogPolicy, evaluate_fold
from runner.run import ResourceRequest, applied_limits, load_for_run
from runner.sandbox.base import ImageInfo, SandboxProvider
from runner.sandbox.docker.sandbox import DockerProvider
from tests.doubles.docker_engine import FakeEngine
from tests.helpers import REPO, bundle_variant

BEHAVE = REPO / "tests" / "fixtures" / "behave" / "behave.py"
ENGINES = ["double", pytest.param("docker", marks=pytest.mark.docker)]

# (behaviour, status, phase, a piece of the reason, exit code)
CASES = [
    ("noop", "ok", None, "", 0),
    ("junk_stdout", "protocol_error", "handshake", "not JSON (during handshake): 'Loading", None),
    ("sleep_fit", "timeout", "fit", "fit phase exceeded its 2 s limit", None),
    ("crash_fit", "crashed", "fit", "exited with exit code 3 during fit", 3),
    ("omit_id", "invalid_predictions", "predict", "1 of 7 test ids have no prediction", 0),
]


@pytest.fixture(scope="module")
def one_fold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle_variant(
        "synth-loco-3class",
        tmp_path_factory.mktemp("conformance"),
        folds=["crew_C1"],
        time_limits={"handshake_seconds": 20, "fit_seconds": 2, "predict_seconds": 20},
    )


def _provider_and_image(
    engine: str, behaviour: str, request: pytest.FixtureRequest
) -> tuple[SandboxProvider, ImageInfo]:
    if engine == "double":
        ref = f"behave-{behaviour}"
        argv = ["env", f"AIRLOCK_TEST_BEHAVIOUR={behaviour}", sys.executable, str(BEHAVE)]
        provider = DockerProvider(FakeEngine({ref: argv}))  # type: ignore[arg-type]
        return provider, provider.describe_image(ref)
    build: Callable[..., str] = request.getfixturevalue("behave_image")
    provider = DockerProvider()
    return provider, provider.describe_image(build(behaviour))


def _evaluate(provider: SandboxProvider, image: ImageInfo, bundle: Path) -> FoldReport:
    (loaded,) = load_for_run([bundle], None)
    job = FoldJob(
        loaded, loaded.fold("crew_C1"), image, applied_limits(loaded, ResourceRequest()),
        run_id="conformance", policy=LogPolicy(),
    )  # fmt: skip
    return evaluate_fold(provider, job, cancel=threading.Event())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("behaviour", "status", "phase", "reason", "exit_code"), CASES)
def test_the_same_verdict_on_either_engine(
    engine: str,
    behaviour: str,
    status: str,
    phase: str | None,
    reason: str,
    exit_code: int | None,
    one_fold: Path,
    request: pytest.FixtureRequest,
) -> None:
    provider, image = _provider_and_image(engine, behaviour, request)
    report = _evaluate(provider, image, one_fold)
    fold = report.result
    assert (fold.status, fold.phase) == (status, phase), fold.reason
    assert reason in fold.reason
    if exit_code is not None:
        assert fold.resources.exit_code == exit_code
    else:
        assert fold.resources.exit_code not in (0, None)  # killed by the runner
    if behaviour == "crash_fit":
        assert fold.log_tail == ["about to fail"]
    if status == "ok":
        assert report.predictions_csv is not None
        assert {"handshake", "fit", "predict", "shutdown"} <= set(fold.resources.phases)


def test_the_double_is_given_the_sandbox_s_isolation_settings(one_fold: Path) -> None:
    """What the sandbox asks of an engine, seen through the double: the same spec a real
    engine gets (no init, no IPC, a private staged copy of the training data)."""
    engine = FakeEngine(
        {"noop": ["env", "AIRLOCK_TEST_BEHAVIOUR=noop", sys.executable, str(BEHAVE)]}
    )
    provider = DockerProvider(engine)  # type: ignore[arg-type]
    report = _evaluate(provider, provider.describe_image("noop"), one_fold)
    assert report.result.status == "ok"
    (created,) = engine.created
    assert created["network_mode"] == "none" and created["ipc_mode"] == "none"
    assert "init" not in created
    (source,) = created["volumes"]
    assert str(one_fold) not in source and not Path(source).exists()  # a copy, removed after
    assert engine.containers_with_label("io.airlock.managed") == []  # removed on every path
    # Due 20 + 2 + 20 s of phases, 5 s of grace and 120 s of margin after its creation
    # (the label is rounded to the second: up to half a second later).
    due = float(created["labels"]["io.airlock.deadline"]) - time.time()
    assert 150 < due <= 167.5
