"""Container runtimes as data: what a runtime is, what a bundle requires, the one-line
refusals, the container spec, the fingerprint of stored folds, doctor's gVisor check (with
and without gVisor), and the boards' runtime note. The same under a real gVisor is in
tests/gvisor/."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from runner.bundle.spec import BundleSpec
from runner.doctor import check_gvisor
from runner.errors import EngineUnavailable, GpuUnavailable, ImageUnavailable, RuntimeUnavailable
from runner.leaderboard.model import Row
from runner.limits import AppliedLimits
from runner.sandbox.base import SandboxSpec
from runner.sandbox.docker.sandbox import DockerProvider
from runner.sandbox.docker.spec import create_kwargs
from runner.sandbox.runtimes import missing_runtime, refusal, runtime_kind
from tests.doubles.docker_engine import FakeEngine
from tests.helpers import REPO, run_airlock

ENGINE = {
    "runc": {"path": "runc"},
    "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", "--network=none"]},
    "gvisor-kvm": {"path": "/usr/local/bin/runsc", "runtimeArgs": ["--platform=kvm"]},
    "nvidia": {"path": "nvidia-container-runtime"},
}


def _limits(gpus: int = 0) -> AppliedLimits:
    return AppliedLimits.model_validate(
        {"handshake_seconds": 30, "fit_seconds": 60, "predict_seconds": 60,
         "memory_bytes": 2**29, "cpus": 1.0, "gpus": gpus}
    )  # fmt: skip


def test_a_runtime_is_gvisor_by_its_binary_whatever_its_name() -> None:
    assert runtime_kind("runsc", ENGINE) == "runsc"
    assert runtime_kind("gvisor-kvm", ENGINE) == "runsc"
    assert runtime_kind("runc", ENGINE) == "runc"
    assert runtime_kind("nvidia", ENGINE) == "nvidia"
    assert runtime_kind("runsc", {}) == "runsc"  # not on the engine: refused when it runs
    typed = {"gv": {"runtimeType": "io.containerd.runsc.v1"}}
    assert runtime_kind("gv", typed) == "runsc"
    # an entry called runsc that runs runc is not gVisor: the bundle's requirement holds
    impostor = {"runsc": {"path": "/usr/bin/runc"}}
    assert runtime_kind("runsc", impostor) == "runc"
    assert refusal("b", "runsc", "runsc", runtime_kind("runsc", impostor)) is not None


def test_a_missing_runtime_says_what_the_engine_has_and_how_to_get_gvisor() -> None:
    assert missing_runtime("runsc", ENGINE) is None
    problem = missing_runtime("runsc", {"runc": {"path": "runc"}})
    assert problem == (
        "the Docker engine has no 'runsc' runtime (it has: runc); set it up with "
        "`sudo scripts/ensure-gvisor.sh` (docs/security.md)"
    )
    assert "reload dockerd" in (missing_runtime("kata", ENGINE) or "")


def test_a_bundle_requiring_gvisor_is_refused_elsewhere_in_one_line() -> None:
    assert refusal("b", "runc", "runc", "runc") is None  # no requirement: any runtime
    assert refusal("b", "runc", None, None) is None
    assert refusal("b", "runsc", "runsc", "runsc") is None
    assert refusal("b", "runsc", "gvisor-kvm", "runsc") is None
    under_runc = refusal("human-1", "runsc", "runc", "runc")
    assert under_runc == (
        "bundle human-1 requires the gVisor runtime (isolation: {runtime: runsc}) but this run "
        "uses 'runc'; pass --runtime runsc; set it up with `sudo scripts/ensure-gvisor.sh` "
        "(docs/security.md)"
    )
    local = refusal("human-1", "runsc", None, None) or ""
    assert "no container at all (--command)" in local and "--image IMAGE --runtime runsc" in local
    assert "\n" not in under_runc + local
    served = refusal("human-1", "runsc", "runc", "runc", "start airlock serve with --runtime runsc")
    assert "uses 'runc'; start airlock serve with --runtime runsc; set it up" in (served or "")


def test_bundle_yaml_isolation_is_optional_strict_and_written_only_when_set() -> None:
    raw = yaml.safe_load((REPO / "task_bundles" / "synth-loco-3class" / "bundle.yaml").read_text())
    plain = BundleSpec.model_validate(raw)
    assert plain.required_runtime == "runc"
    assert "isolation" not in plain.model_dump()  # existing bundles keep their hash
    strict = BundleSpec.model_validate({**raw, "isolation": {"runtime": "runsc"}})
    assert strict.required_runtime == "runsc"
    assert strict.model_dump()["isolation"] == {"runtime": "runsc"}
    with pytest.raises(ValidationError, match="runc' or 'runsc'"):
        BundleSpec.model_validate({**raw, "isolation": {"runtime": "kata"}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        BundleSpec.model_validate({**raw, "isolation": {"runtime": "runsc", "kvm": True}})
    gpus = {**raw, "isolation": {"runtime": "runsc"}, "resources": {"gpus": 1}}
    with pytest.raises(ValidationError, match="runsc .gVisor. cannot give GPUs"):
        BundleSpec.model_validate(gpus)


def test_the_container_names_its_runtime_always() -> None:
    spec = SandboxSpec("sha256:abc", Path("/data/train"), _limits())
    assert create_kwargs(spec)["runtime"] == "runc"  # even when dockerd defaults to another
    gvisor = SandboxSpec("sha256:abc", Path("/data/train"), _limits(), runtime="runsc")
    assert create_kwargs(gvisor)["runtime"] == "runsc"


class _Engine(FakeEngine):
    def __init__(self, runtimes: dict[str, object], default: str = "runc") -> None:
        super().__init__({})
        self._runtimes = runtimes
        self._default = default

    def runtimes(self) -> dict[str, object]:  # type: ignore[override]
        return self._runtimes

    def info(self) -> dict[str, object]:  # type: ignore[override]
        return {"Runtimes": self._runtimes, "DefaultRuntime": self._default}


def test_without_runtime_a_run_gets_the_engine_s_default() -> None:
    """A host whose dockerd runs everything under gVisor (default-runtime) keeps doing so."""
    hardened = DockerProvider(_Engine(ENGINE, default="runsc"))  # type: ignore[arg-type]
    assert hardened.resolve_runtime(None) == "runsc"
    assert hardened.resolve_runtime("runc") == "runc"
    assert DockerProvider(_Engine(ENGINE)).resolve_runtime(None) == "runc"  # type: ignore[arg-type]


def test_a_worker_or_server_fold_of_a_gvisor_bundle_under_runc_is_refused(
    tmp_path: Path,
) -> None:
    """The check in the fold's own road (what pool workers and the competition executor
    run): an infra_error with the one-line reason, no container started."""
    import threading

    from runner.evaluate import LogPolicy, evaluate_fold
    from runner.plan import BundlePlan, load_for_run
    from runner.sandbox.base import ImageInfo
    from tests.helpers import bundle_variant

    path = bundle_variant(
        "synth-loco-3class", tmp_path, folds=["crew_C1"], isolation={"runtime": "runsc"}
    )
    (bundle,) = load_for_run([path], None)
    engine = _Engine(ENGINE)
    provider = DockerProvider(engine)  # type: ignore[arg-type]
    image = ImageInfo("x", "sha256:" + "a" * 64, [], "", {})
    plan = BundlePlan(bundle, _limits(), image, LogPolicy(), "t", runtime="runc")
    report = evaluate_fold(provider, plan.job("crew_C1", "run"), cancel=threading.Event())
    assert report.result.status == "infra_error"
    assert report.result.reason.startswith(
        "bundle synth-loco-3class requires the gVisor runtime (isolation: {runtime: runsc}) but "
        "this run uses 'runc'; pass --runtime runsc"
    )
    assert report.result.resources.runtime == "runc"
    assert engine.created == []


def test_the_provider_refuses_a_runtime_or_gpus_it_cannot_give() -> None:
    provider = DockerProvider(_Engine({"runc": {"path": "runc"}}))  # type: ignore[arg-type]
    spec = SandboxSpec("sha256:abc", Path("/data/train"), _limits(), runtime="runsc")
    with pytest.raises(RuntimeUnavailable, match="no 'runsc' runtime .it has: runc."):
        provider.check(spec)
    provider.check(SandboxSpec("sha256:abc", Path("/data/train"), _limits()))
    both = DockerProvider(_Engine(ENGINE))  # type: ignore[arg-type]
    both.check(spec)
    with pytest.raises(GpuUnavailable, match="GPUs to runc containers only, not under 'runsc'"):
        both.check(SandboxSpec("sha256:abc", Path("/data/train"), _limits(1), runtime="runsc"))


def test_stored_folds_are_reused_only_under_the_same_runtime(tmp_path: Path) -> None:
    from runner.evaluate import LogPolicy
    from runner.plan import BundlePlan, load_for_run
    from runner.sandbox.base import ImageInfo

    (bundle,) = load_for_run([REPO / "task_bundles" / "synth-loco-3class"], None)
    image = ImageInfo("x", "sha256:" + "a" * 64, [], "", {})

    def plan(runtime: str | None) -> BundlePlan:
        return BundlePlan(bundle, _limits(), image, LogPolicy(), "t", runtime=runtime)

    assert plan("runc").fingerprint == plan(None).fingerprint  # what runs always stored
    assert plan("runsc").fingerprint != plan("runc").fingerprint
    assert plan("runsc").job(bundle.spec.folds[0], "run").runtime == "runsc"


def test_doctor_without_gvisor_warns_with_the_set_up_line() -> None:
    def never(name: str) -> float:
        raise AssertionError("nothing to start")

    finding = check_gvisor({"runc": {"path": "runc"}}, never, installed=lambda _: None)
    assert (finding.check, finding.state) == ("gvisor", "warn")
    assert finding.detail == "runtimes: runc; gVisor (runsc) is not a runtime of the engine"
    assert "scripts/ensure-gvisor.sh" in finding.fix and "--platform=ptrace" in finding.fix
    installed = check_gvisor({"runc": {}}, never, installed=lambda _: "/usr/bin/runsc")
    assert "runsc is installed (/usr/bin/runsc) but is not a runtime" in installed.detail


def test_doctor_with_gvisor_starts_a_container_under_it() -> None:
    tried: list[str] = []

    def start(name: str) -> float:
        tried.append(name)
        return 0.74

    finding = check_gvisor(ENGINE, start)
    assert tried == ["runsc"]
    assert finding.state == "ok"
    assert finding.detail == (
        "runtimes: gvisor-kvm, nvidia, runc, runsc; 'runsc' (--platform=ptrace --network=none) "
        "starts a container in 0.7 s: `airlock run --runtime runsc`"
    )

    def broken(name: str) -> float:
        raise EngineUnavailable("cannot start the container: OCI runtime create failed")

    failed = check_gvisor(ENGINE, broken)
    assert failed.state == "fail" and "OCI runtime create failed" in failed.detail
    assert "--platform=ptrace" in failed.fix

    def no_image(name: str) -> float:
        raise ImageUnavailable("image not found")

    assert check_gvisor(ENGINE, no_image).state == "skip"


def test_boards_name_a_runtime_other_than_runc() -> None:
    row = Row("team", "img", "sha256:" + "a" * 64, datetime.now(UTC))
    assert row.runtime_note == ""
    row.runtimes_by_task = {"a": {"runc"}}
    assert row.runtime_note == ""
    row.runtimes_by_task = {"a": {"runsc"}}
    assert row.runtime_note == "gVisor"
    row.runtimes_by_task = {"a": {"runsc"}, "b": {"runc"}}
    assert row.runtime_note == "runc + gVisor"


def test_runtime_is_for_containers_only(tmp_path: Path) -> None:
    done = run_airlock(
        "run", "--command", "python model.py", "--bundle", str(REPO / "task_bundles"),
        "--runtime", "runsc", "--results", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "--runtime runsc runs containers; --command runs a local process" in done.stderr


def test_a_gvisor_result_is_marked_on_every_board_format() -> None:
    from runner.leaderboard.export import boards_json
    from runner.leaderboard.ranking import build_boards
    from runner.leaderboard.render import html_page, markdown
    from tests.unit.test_leaderboard_ranking import result

    gvisor = result("team-g", "a", "task1", [0.8, 0.9])
    gvisor.folds[:] = [
        f.model_copy(update={"resources": f.resources.model_copy(update={"runtime": "runsc"})})
        for f in gvisor.folds
    ]
    older = result("team-r", "b", "task1", [0.6, 0.7])  # written before runtimes were recorded
    boards = build_boards([gvisor, older])
    rows = {row["team"]: row for board in boards_json(boards) for row in board["rows"]}
    assert rows["team-g"]["runtimes"] == ["runsc"] and rows["team-r"]["runtimes"] == ["runc"]
    text = markdown(boards)
    assert "team-g (`aaaaaaaaaaaa`) [gVisor]" in text and "team-r (`bbbbbbbbbbbb`) |" in text
    page = html_page(boards)
    assert '<span class="runtime" title="container runtime">gVisor</span>' in page
    assert "<dt>runtime</dt><dd>runsc</dd>" in page and "<dt>runtime</dt><dd>runc</dd>" in page


def test_a_result_that_replaces_another_replaces_its_runtime() -> None:
    from runner.leaderboard.ranking import build_boards
    from tests.unit.test_leaderboard_ranking import result

    first = result("team-g", "a", "task1", [0.8, 0.9])
    first.folds[:] = [
        f.model_copy(update={"resources": f.resources.model_copy(update={"runtime": "runsc"})})
        for f in first.folds
    ]
    again = result("team-g", "a", "task1", [0.8, 0.9], minutes=5)  # the same image, under runc
    (board,) = build_boards([first, again])
    (row,) = board.rows
    assert row.runtimes == {"runc"} and row.runtime_note == ""
