"""The `airlock` command end to end, as a user runs it (a real process, real exit codes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runner.limits import LABEL_MANAGED, LABEL_OWNER
from runner.schemas import schema_for
from tests.helpers import AIRLOCK, REPO, SAMPLES, bundle_variant, run_airlock

pytestmark = pytest.mark.docker

airlock = run_airlock


def test_submit_logreg_on_every_sample_bundle_writes_valid_measured_results(
    tmp_path: Path, docker_client: Any
) -> None:
    bundles = sorted(SAMPLES.iterdir())
    args = ["run", "--image", "airlock/sample-logreg", "--results", str(tmp_path), "--jobs", "2"]
    for bundle in bundles:
        args += ["--bundle", str(bundle)]
    done = airlock(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    validator = jsonschema.Draft202012Validator(schema_for("result"))
    paths = sorted(tmp_path.glob("*/*/result.json"))
    assert len(paths) == len(bundles)
    for path in paths:
        raw = json.loads(path.read_text())
        validator.validate(raw)
        assert raw["aggregate"]["complete"] is True
        for fold in raw["folds"]:
            assert fold["status"] == "ok"
            assert (path.parent / fold["predictions_file"]).is_file()
            for phase in ("handshake", "fit", "predict"):
                usage = fold["resources"]["phases"][phase]
                assert usage["wall_seconds"] > 0, (path, fold["fold_id"], phase)
                assert usage["cpu_seconds"] > 0, (path, fold["fold_id"], phase)
                assert usage["peak_memory_bytes"] > 0, (path, fold["fold_id"], phase)
    assert "Airlock run summary" in done.stdout
    by_bundle = {
        json.loads(p.read_text())["provenance"]["bundle_id"]: json.loads(p.read_text())
        for p in paths
    }
    for raw in by_bundle.values():  # the benchmarks' statistics travel with every result
        assert set(raw["statistics"]["metrics"]) == set(raw["metrics"])
    binary = by_bundle["synth-lomo-highdim"]
    assert binary["statistics"]["genelab"]["mean_perm_p"] is not None
    assert all(f["statistics"]["perm_p"] > 0 for f in binary["folds"])
    multiclass = by_bundle["synth-loco-3class"]["folds"][0]["details"]
    assert set(multiclass) == {"per_class_f1", "confusion_matrix"}


def test_failed_fold_exit_code_and_missing_image_message(
    tmp_path: Path, behave_image: Callable[..., str]
) -> None:
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C1"])
    failed = airlock(
        "run",
        "--image",
        behave_image("omit_id"),
        "-b",
        str(bundle),
        "--results",
        str(tmp_path / "r"),
    )
    assert failed.returncode == 1, failed.stderr
    assert "invalid_predictions" in failed.stdout + failed.stderr
    missing = airlock("run", "--image", "airlock-test/does-not-exist:1", "-b", str(bundle))
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith(
        "airlock: error: image 'airlock-test/does-not-exist:1'"
    )
    assert "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_run_removes_its_containers(
    tmp_path: Path, behave_image: Callable[..., str], docker_client: Any, signum: int
) -> None:
    bundle = bundle_variant(
        "synth-loco-3class", tmp_path, folds=["crew_C1"], time_limits={"fit_seconds": 120}
    )
    image = behave_image("sleep_fit")
    # As from a terminal: a test session started in the background (`cmd &` in a script) has
    # SIGINT ignored, which children inherit, and Python then never raises KeyboardInterrupt.
    # A handler (not an ignore) becomes the default in the child.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [
                *AIRLOCK,
                "run",
                "--image",
                image,
                "-b",
                str(bundle),
                "--results",
                str(tmp_path / "r"),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT dumps every thread's stack
        )
    finally:
        signal.signal(signal.SIGINT, ignored)

    def mine() -> list[dict[str, Any]]:
        # The low-level list: no per-container inspect that races with removal.
        found = docker_client.api.containers(all=True, filters={"label": LABEL_MANAGED})
        return [
            c
            for c in found
            if c["Labels"].get(LABEL_OWNER, "").split(":")[1:2] == [str(process.pid)]
        ]

    deadline = time.monotonic() + 60
    while not mine() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mine(), "the run never started a container"
    time.sleep(1.0)  # inside the fit phase now
    process.send_signal(signum)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        left = [c["State"] for c in mine()]
        process.send_signal(signal.SIGABRT)
        _, stderr = process.communicate()
        pytest.fail(f"still running 60 s after the signal; containers {left}; stacks:\n{stderr}")
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert mine() == []
    assert not list((tmp_path / "r").glob("*/*/result.json"))


def test_cleanup_reaps_containers_of_dead_runs(docker_client: Any) -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    import socket

    dead_owner = f"{socket.gethostname()}:{child.pid}:1"
    container = docker_client.containers.create(
        "airlock/base:bookworm", ["true"], labels={LABEL_MANAGED: "1", LABEL_OWNER: dead_owner}
    )
    done = airlock("cleanup")
    assert done.returncode == 0, done.stderr
    assert container.id not in {c.id for c in docker_client.containers.list(all=True)}


def test_the_same_image_under_two_teams_is_two_submissions(
    tmp_path: Path, behave_image: Callable[..., str]
) -> None:
    """Keyed by image alone, team b's run reused team a's folds and overwrote its result,
    and team a vanished from the leaderboard. Keyed by submission, both stay."""
    bundle = bundle_variant("synth-loco-3class", tmp_path / "b", folds=["crew_C1"])
    image = behave_image("noop")
    results = tmp_path / "results"
    for team in ("team-a", "team-b"):
        done = airlock("run", "--image", image, "-b", str(bundle), "--results", str(results),
                       "--team", team)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "reused" not in done.stdout, done.stdout
    stored = sorted(json.loads(p.read_text())["provenance"]["team"]
                    for p in results.glob("*/*/result.json"))  # fmt: skip
    assert stored == ["team-a", "team-b"]
    board = airlock("leaderboard", "--results", str(results), "--out", str(tmp_path / "board"))
    assert board.returncode == 0, board.stderr
    text = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "team-a" in text and "team-b" in text
    again = airlock("run", "--image", image, "-b", str(bundle), "--results", str(results),
                    "--team", "team-a")  # fmt: skip
    assert "reused 1 finished fold" in again.stdout  # its own folds are still reused


def _sdk_image(docker_client: Any, tmp_path: Path, name: str, model: str) -> str:
    context = tmp_path / name
    context.mkdir()
    (context / "model.py").write_text(model)
    (context / "Dockerfile").write_text(
        "FROM airlock/sdk:latest\nCOPY model.py /opt/submission/model.py\n"
        'ENTRYPOINT ["python3", "/opt/submission/model.py"]\n'
    )
    tag = f"airlock-test/sdk-{name}:latest"
    docker_client.images.build(path=str(context), tag=tag, rm=True)
    return tag


def test_sdk_refuses_a_frame_whose_columns_are_not_the_classes(
    tmp_path: Path, docker_client: Any
) -> None:
    """A model trained on integer-coded classes returns columns 0, 1, 2: read by position the
    scores were silently wrong; now the fold is invalid_predictions naming the columns."""
    image = _sdk_image(docker_client, tmp_path, "int-columns", (
        "import pandas as pd\nfrom airlock_sdk import serve\n"
        "class Model:\n"
        "    def fit(self, X, y, meta, task): pass\n"
        "    def predict(self, X, meta, task):\n"
        "        return pd.DataFrame([[0.2, 0.3, 0.5]] * len(X), columns=[0, 1, 2])\n"
        "if __name__ == '__main__':\n    serve(Model())\n"
    ))  # fmt: skip
    bundle = bundle_variant("synth-loco-3class", tmp_path / "b", folds=["crew_C1"])
    done = airlock("run", "--image", image, "-b", str(bundle), "--results", str(tmp_path / "r"))
    assert done.returncode == 1, done.stderr
    (path,) = (tmp_path / "r").glob("*/*/result.json")
    (fold,) = json.loads(path.read_text())["folds"]
    assert fold["status"] == "invalid_predictions"
    assert "not classes: ['0', '1', '2']" in fold["reason"]
    assert "missing: ['post_flight', 'pre_flight', 'recovery']" in fold["reason"]


def test_a_program_that_never_calls_serve_is_told_so(tmp_path: Path, docker_client: Any) -> None:
    image = _sdk_image(docker_client, tmp_path, "no-serve", (
        "from airlock_sdk import serve\n"
        "class Model:\n"
        "    def fit(self, X, y, meta, task): pass\n"
        "    def predict(self, X, meta, task): return [0.5] * len(X)\n"
    ))  # fmt: skip
    bundle = bundle_variant("synth-loco-3class", tmp_path / "b", folds=["crew_C1"])
    done = airlock("run", "--image", image, "-b", str(bundle), "--results", str(tmp_path / "r"))
    assert done.returncode == 1
    assert "exited with code 0 during handshake before completing it; it never answered " in (
        done.stdout + done.stderr
    )
    assert "does the program call serve() (Python SDK)" in done.stdout + done.stderr


def test_a_command_run_warns_when_local_libraries_differ_from_the_image(tmp_path: Path) -> None:
    """The virtualenv's scikit-learn against the SDK image's: one line before the run."""
    done = airlock(
        "run", "--command", f"{sys.executable} model.py",
        "--workdir", str(REPO / "sample_submissions" / "majority"),
        "-b", str(bundle_variant("synth-loco-3class", tmp_path / "b", folds=["crew_C1"])),
        "--results", str(tmp_path / "r"), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    image = json.loads(
        subprocess.run(["docker", "inspect", "airlock/sdk:latest"], capture_output=True,
                       text=True, check=True).stdout
    )[0]["Config"]["Labels"]["io.airlock.versions"]  # fmt: skip
    import importlib.metadata

    local = importlib.metadata.version("scikit-learn")
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    if f"scikit-learn={local}" in image:
        assert not any("scikit-learn" in line for line in warnings)
    else:
        assert len(warnings) == 1 and f"scikit-learn {local} here vs" in warnings[0]
