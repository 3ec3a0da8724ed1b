"""Real containers, real verdicts: each misbehaviour ends with its typed status, the
reason says what happened, and no container of the run is left behind."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runner.errors import GpuUnavailable
from runner.limits import LABEL_MANAGED, LABEL_RUN
from runner.run import StoredResult
from runner.verdict import Status
from tests.helpers import REPO, bundle_variant

pytestmark = pytest.mark.docker

LOCO = "synth-loco-3class"


def _only_fold(stored: list[StoredResult]) -> Any:
    (item,) = stored
    (fold,) = item.result.folds
    return fold


def _assert_no_container_left(docker_client: Any, stored: list[StoredResult]) -> None:
    run_id = stored[0].result.provenance.run_id
    left = docker_client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
    assert left == [], f"containers of run {run_id} left behind: {[c.name for c in left]}"


@pytest.fixture
def one_fold(tmp_path: Path) -> Path:
    return bundle_variant(LOCO, tmp_path, folds=["crew_C1"], time_limits={"fit_seconds": 3})


def test_memory_hog_ends_oom(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    docker_client: Any,
) -> None:
    stored = run_suite(behave_image("oom"), [one_fold], memory="128MiB")
    fold = _only_fold(stored)
    assert fold.status is Status.OOM, fold
    assert fold.phase == "fit"
    assert "more than 128 MiB of memory during fit (peak measured " in fold.reason
    assert fold.resources.oom_killed is True
    assert fold.resources.peak_memory_bytes > 100 * 2**20
    _assert_no_container_left(docker_client, stored)


def test_sleeping_past_the_fit_limit_ends_timeout_and_leaves_nothing(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    docker_client: Any,
) -> None:
    stored = run_suite(behave_image("sleep_fit"), [one_fold])
    fold = _only_fold(stored)
    assert fold.status is Status.TIMEOUT, fold
    fit_seconds = fold.resources.phases["fit"].wall_seconds
    assert 3.0 <= fit_seconds < 6.0
    assert fold.reason.startswith(f"fit phase exceeded its 3 s limit (ran {fit_seconds:.1f} s")
    _assert_no_container_left(docker_client, stored)


def test_omitting_a_test_id_ends_invalid_predictions(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    docker_client: Any,
) -> None:
    stored = run_suite(behave_image("omit_id"), [one_fold])
    fold = _only_fold(stored)
    assert fold.status is Status.INVALID_PREDICTIONS, fold
    assert fold.reason.startswith("1 of 7 test ids have no prediction: ")
    assert fold.metrics == {}
    _assert_no_container_left(docker_client, stored)


def test_junk_on_stdout_ends_protocol_error_quoting_it(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    docker_client: Any,
) -> None:
    stored = run_suite(behave_image("junk_stdout"), [one_fold])
    fold = _only_fold(stored)
    assert fold.status is Status.PROTOCOL_ERROR, fold
    assert fold.phase == "handshake"
    assert "stdout line is not JSON (during handshake): 'Loading model weights... done!'" in (
        fold.reason
    )
    _assert_no_container_left(docker_client, stored)


def test_crash_in_fit_ends_crashed_with_exit_code_and_stderr_tail(
    behave_image: Callable[..., str], run_suite: Callable[..., list[StoredResult]], one_fold: Path
) -> None:
    fold = _only_fold(run_suite(behave_image("crash_fit"), [one_fold]))
    assert fold.status is Status.CRASHED, fold
    assert fold.reason == "exited with exit code 3 during fit"
    assert fold.resources.exit_code == 3
    assert fold.log_tail == ["about to fail"]


def test_noop_submission_is_ok_and_measured_per_phase(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    bundle = bundle_variant("synth-features-imbalanced", tmp_path, folds=["rep0"])
    stored = run_suite(behave_image("noop"), [bundle])
    fold = _only_fold(stored)
    assert fold.status is Status.OK, fold
    assert fold.metrics["auroc"] == 0.5  # constant scores
    for phase in ("handshake", "fit", "predict"):
        usage = fold.resources.phases[phase]
        assert usage.wall_seconds > 0
        assert usage.cpu_seconds is not None
        assert usage.peak_memory_bytes is not None and usage.peak_memory_bytes > 0
    _assert_no_container_left(docker_client, stored)


def test_nothing_leaves_the_container(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    tcp_listener: tuple[int, list[str]],
    docker_client: Any,
) -> None:
    port, connections = tcp_listener
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    gateway = ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))
    sealed = (one_fold / "sealed").resolve()
    image = behave_image(
        "probe",
        PROBE_TARGETS=f"{gateway}:{port},127.0.0.1:{port}",
        PROBE_SEALED_PATH=str(sealed),
    )
    # Control: an ordinary container (default bridge network) does reach the listener, so
    # the sandbox's failure to connect below is the isolation's doing.
    docker_client.containers.run(
        "airlock/base:bookworm",
        [
            "python3",
            "-c",
            f"import socket; socket.create_connection(('{gateway}', {port}), timeout=5)",
        ],
        remove=True,
    )
    deadline = time.monotonic() + 5
    while not connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(connections) == 1, connections
    stored = run_suite(image, [one_fold])
    fold = _only_fold(stored)
    assert fold.status is Status.OK, fold
    log = (Path(stored[0].location).parent / fold.log_file).read_text()
    (line,) = [entry for entry in log.splitlines() if entry.startswith("AIRLOCK_PROBE ")]
    report = json.loads(line.removeprefix("AIRLOCK_PROBE "))
    assert report["tcp"], report
    for target, outcome in report["tcp"].items():
        assert outcome.startswith("failed"), (target, outcome)
    time.sleep(0.5)  # let the listener record any late arrival
    assert len(connections) == 1, connections  # only the control's connection
    assert report["interfaces"] == ["lo"]
    assert report["docker_socket"] == []
    assert report["sealed_path_visible"] is False
    assert report["label_files"] == ["/airlock/train/y.csv"]
    assert report["train_writable"] is False
    assert report["root_writable"] is False
    assert (report["uid"], report["gid"]) == (10001, 10001)


def test_gpu_bundle_is_refused_before_anything_runs(
    provider: Any,
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    if "nvidia" in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("this engine has the nvidia runtime; the refusal cannot be shown here")
    bundle = bundle_variant(LOCO, tmp_path, folds=["crew_C1"], resources={"gpus": 1})
    before = {
        c.id for c in docker_client.containers.list(all=True, filters={"label": LABEL_MANAGED})
    }
    with pytest.raises(GpuUnavailable, match="asks for 1 GPU.*no 'nvidia' runtime"):
        run_suite(behave_image("noop"), [bundle])
    after = {
        c.id for c in docker_client.containers.list(all=True, filters={"label": LABEL_MANAGED})
    }
    assert after == before


def _dedent_block(text: str, opening: str, indent: str = "") -> str:
    """The first fenced block of ``text`` that starts with ``opening``, without its indent."""
    body = text.split(opening, 1)[1].split(f"{indent}```", 1)[0]
    return "\n".join(line.removeprefix(indent) for line in body.splitlines()) + "\n"


def _run_documented_submission(
    files: dict[str, str],
    tag: str,
    *,
    docker_client: Any,
    run_suite: Callable[..., list[StoredResult]],
    tmp_path: Path,
    folds: dict[str, str],
) -> list[Status]:
    """Build an image from documentation snippets and run it on one fold of each bundle."""
    context = tmp_path / "context"
    context.mkdir()
    for name, text in files.items():
        (context / name).write_text(text)
    docker_client.images.build(path=str(context), tag=tag, rm=True)
    bundles = [bundle_variant(name, tmp_path / name, folds=[fold]) for name, fold in folds.items()]
    return [item.result.folds[0].status for item in run_suite(tag, bundles)]


def test_the_minimal_submission_in_the_protocol_doc_works(
    docker_client: Any, run_suite: Callable[..., list[StoredResult]], tmp_path: Path
) -> None:
    """docs/protocol.md must be enough to write a submission: its example is built and run."""
    doc = (REPO / "docs" / "protocol.md").read_text()
    files = {
        "main.py": doc.split("```python\n")[-1].split("```")[0],
        "Dockerfile": 'FROM airlock/base:bookworm\nCOPY main.py /main.py\nENTRYPOINT ["python3", "/main.py"]\n',
    }
    folds = {
        "synth-loco-3class": "crew_C1",
        "synth-lomo-highdim": "mission_M1",
        "synth-multilabel": "fold0",
    }
    statuses = _run_documented_submission(
        files,
        "airlock-test/doc-example:latest",
        docker_client=docker_client,
        run_suite=run_suite,
        tmp_path=tmp_path,
        folds=folds,
    )
    assert statuses == [Status.OK] * 3


def test_the_readme_participant_example_works(
    docker_client: Any, run_suite: Callable[..., list[StoredResult]], tmp_path: Path
) -> None:
    readme = (REPO / "README.md").read_text()
    files = {
        "model.py": _dedent_block(readme, "```python\n# model.py\n"),
        "Dockerfile": _dedent_block(readme, "```dockerfile\n"),
    }
    folds = {"synth-loco-3class": "crew_C1", "synth-lomo-highdim": "mission_M1"}
    statuses = _run_documented_submission(
        files,
        "airlock-test/readme-example:latest",
        docker_client=docker_client,
        run_suite=run_suite,
        tmp_path=tmp_path,
        folds=folds,
    )
    assert statuses == [Status.OK] * 2


def test_lingering_after_shutdown_is_killed_but_the_fold_counts(
    behave_image: Callable[..., str],
    run_suite: Callable[..., list[StoredResult]],
    one_fold: Path,
    docker_client: Any,
) -> None:
    stored = run_suite(behave_image("linger"), [one_fold])
    fold = _only_fold(stored)
    assert fold.status is Status.OK, fold
    assert fold.notes == ["did not exit within 5 s of shutdown; killed"]
    assert 5.0 <= fold.resources.phases["shutdown"].wall_seconds < 8.0
    _assert_no_container_left(docker_client, stored)
