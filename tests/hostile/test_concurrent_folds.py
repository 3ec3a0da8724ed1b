"""Folds of one submission that run at the same time must not be able to talk: no shared
host file (locks, inotify), no shared IPC object; the schedule keeps them apart by default;
the runner stays small with five hostile folds at once; and a runner killed with SIGKILL
leaves no container running.

Every channel test has a positive control: the same probe between containers started
directly with the engine's init binary mounted (as every fold was before) and a shared
file, where the channel works, so a pass here means the channel is closed, not the probe
broken."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runner.limits import LABEL_MANAGED, LABEL_OWNER
from tests.helpers import REPO, bundle_variant
from tests.hostile.test_hostile_submissions import _build, _probe, _run

pytestmark = pytest.mark.docker

FOLDS = ["mission_M1", "mission_M2", "mission_M3"]


@pytest.fixture(scope="module")
def lomo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All three missions (each fold's test samples are the other folds' training samples)."""
    return bundle_variant(
        "synth-lomo-highdim",
        tmp_path_factory.mktemp("collude"),
        time_limits={"handshake_seconds": 30, "fit_seconds": 30, "predict_seconds": 30},
        resources={"memory": "512MiB", "cpus": 1.0, "gpus": 0},
    )


def _auroc(truth: dict[str, int], scores: dict[str, float]) -> float:
    ids = sorted(truth)
    y = np.array([truth[i] for i in ids])
    s = np.array([scores[i] for i in ids])
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def _sealed_truth(bundle: Path, fold: str) -> dict[str, int]:
    rows = (bundle / "sealed" / fold / "y.csv").read_text().splitlines()[1:]
    return {r.split(",")[0]: int(r.split(",")[1] == "flight") for r in rows}


def _standalone(
    docker_client: Any,
    image: str,
    mode: str,
    volumes: dict[str, dict[str, str]],
    runtime: str = "runc",
) -> Any:
    """A container of the hostile image started the old way: engine init, shared mounts."""
    return docker_client.containers.run(
        image,
        detach=True,
        init=True,
        runtime=runtime,
        network_mode="none",
        read_only=True,
        user="10001:10001",
        tmpfs={"/tmp": "size=64m"},
        environment={"AIRLOCK_TEST_STANDALONE": mode},
        volumes=volumes,
        labels={"io.airlock.test": "positive-control"},
    )


def _collude_sharing_a_file(docker_client: Any, lomo: Path, runtime: str) -> list[float]:
    """Three colluders at once with the engine's init binary mounted (one host file in all
    of them); the AUROC each reaches on its fold's test set from what it heard."""
    image = _build(docker_client, "collude", TARGET_FOLD="*")
    containers = []
    try:
        for fold in FOLDS:
            base = lomo / "folds" / fold
            volumes = {
                str(base / "train"): {"bind": "/airlock/train", "mode": "ro"},
                str(base / "test"): {"bind": "/airlock/test", "mode": "ro"},
            }
            containers.append(_standalone(docker_client, image, "collude", volumes, runtime))
        scores = []
        for fold, container in zip(FOLDS, containers, strict=True):
            container.wait(timeout=180)
            guesses = json.loads(container.logs(stderr=False).decode().strip().splitlines()[-1])
            scores.append(_auroc(_sealed_truth(lomo, fold), guesses))
    finally:
        for container in containers:
            container.remove(force=True)
    return scores


def test_collusion_through_locks_works_when_containers_share_a_file(
    docker_client: Any, lomo: Path
) -> None:
    """Positive control: three containers with the engine's init binary mounted (one host
    file in all of them) pass each other their training labels: AUROC 1.0 on every fold."""
    scores = _collude_sharing_a_file(docker_client, lomo, "runc")
    print(f"positive control (shared init binary): AUROC per fold {scores}")
    assert scores == [1.0, 1.0, 1.0]


@pytest.mark.gvisor
def test_gvisor_contains_the_lock_channel_even_through_a_shared_file(
    docker_client: Any, lomo: Path, gvisor: str, hostile_report: list[dict[str, Any]]
) -> None:
    """The positive control's very set-up (init binary mounted in all three) under gVisor:
    each sandbox's sentry keeps its own lock table, so nothing passes (AUROC 0.5)."""
    scores = _collude_sharing_a_file(docker_client, lomo, gvisor)
    print(f"shared init binary under gVisor: AUROC per fold {scores}")
    hostile_report.append(
        {
            "case": "collude through locks on a shared host file, 3 at once (gVisor)",
            "fold": "all 3",
            "expected": "AUROC 0.5",
            "status": "AUROC " + " / ".join(f"{v:.3f}" for v in scores),
            "other": "-",
            "rss_mib": 0,
            "reason": "the same set-up under runc: AUROC 1.000 on every fold",
        }
    )
    assert scores == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    "schedule",
    ["concurrent", "default", pytest.param("concurrent-gvisor", marks=pytest.mark.gvisor)],
)
def test_colluding_folds_score_at_chance(
    docker_client: Any,
    lomo: Path,
    tmp_path: Path,
    schedule: str,
    hostile_report: list[dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    """`airlock run --jobs 3` in sealed mode: with folds overlapping (concurrent) nothing
    is shared any more, and the default schedule never overlaps them at all; the same
    under gVisor (`--runtime runsc`)."""
    image = _build(docker_client, "collude", TARGET_FOLD="*")
    extra = ["--sealed-mode", "--jobs", "3"]
    if schedule.startswith("concurrent"):
        extra += ["--fold-schedule", "concurrent"]
    if schedule.endswith("gvisor"):
        extra += ["--runtime", request.getfixturevalue("gvisor")]
    code, rss, _stdout, stderr = _run(image, lomo, tmp_path / "results", *extra)
    assert code == 0, stderr[-2000:]
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    result = json.loads(result_path.read_text())
    scores = [fold["metrics"]["auroc"] for fold in result["folds"]]
    print(f"--jobs 3, schedule {schedule}: AUROC per fold {scores}, runner RSS {rss:.0f} MiB")
    hostile_report.append(
        {
            "case": f"collude through locks, --jobs 3, {schedule} schedule (sealed mode)",
            "fold": "all 3",
            "expected": "AUROC 0.5",
            "status": "AUROC " + " / ".join(f"{v:.3f}" for v in scores),
            "other": "-",
            "rss_mib": rss,
            "reason": "positive control (engine init mounted): AUROC 1.000 on every fold",
        }
    )
    assert scores == [0.5, 0.5, 0.5]
    records = [
        json.loads((result_path.parent / "folds" / f"{fold}.json").read_text())["private"]
        for fold in FOLDS
    ]
    spans = sorted((r["started_at"], r["finished_at"]) for r in records)
    overlapping = any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))
    assert overlapping is schedule.startswith("concurrent")  # the channel had its chance
    for fold in FOLDS:  # and the colluder heard nothing in any fold
        log = (result_path.parent / "logs" / f"{fold}.stderr.log").read_text()
        assert "heard 0 of" in log, log[-500:]


def _shared_probe_report(found: dict[str, Any]) -> dict[str, Any]:
    return {key: found[key] for key in ("locks", "flocks", "inotify", "shm")}


def test_shared_path_probe_finds_the_init_binary_when_it_is_mounted(
    docker_client: Any, tmp_path: Path
) -> None:
    """Positive control of the probe: two containers with the engine's init binary and one
    shared file mounted. The receiver sees the sender's locks, flock and file accesses."""
    image = _build(docker_client, "shared_probe")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "file").write_text("x")
    volumes = {str(shared): {"bind": "/shared", "mode": "ro"}}
    receiver = _standalone(docker_client, image, "receiver", volumes)
    time.sleep(1.5)
    sender = _standalone(docker_client, image, "sender", volumes)
    try:
        receiver.wait(timeout=120)
        sender.wait(timeout=120)
        found = json.loads(receiver.logs(stderr=False).decode().strip().splitlines()[-1])
    finally:
        receiver.remove(force=True)
        sender.remove(force=True)
    print(f"positive control: {_shared_probe_report(found)}")
    for key in ("locks", "flocks", "inotify"):
        assert "/shared/file" in found[key], (key, found[key])
        assert "/usr/sbin/docker-init" in found[key] or "/sbin/docker-init" in found[key]


def test_concurrent_folds_share_no_lock_inode_or_ipc_object(
    docker_client: Any, tmp_path: Path, hostile_report: list[dict[str, Any]]
) -> None:
    """Two folds at the same time (`--fold-schedule concurrent --jobs 2`): the sender locks
    and flocks every file it can open, keeps opening them and drops marks in every place it
    might write; the receiver, watching every file it can open (inotify) and testing every
    lock, sees nothing of it."""
    bundle = bundle_variant(
        "synth-lomo-highdim",
        tmp_path / "bundle",
        folds=["mission_M1", "mission_M2"],
        time_limits={"handshake_seconds": 30, "fit_seconds": 40, "predict_seconds": 30},
        resources={"memory": "512MiB", "cpus": 1.0, "gpus": 0},
    )
    image = _build(docker_client, "shared_probe", TARGET_FOLD="*", PROBE_SENDER_FOLD="mission_M1")
    code, rss_mib, _stdout, stderr = _run(
        image, bundle, tmp_path / "results", "--jobs", "2", "--fold-schedule", "concurrent"
    )
    assert code == 0, stderr[-2000:]
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    result = json.loads(result_path.read_text())
    logs = {f["fold_id"]: result_path.parent / f["log_file"] for f in result["folds"]}
    sender, receiver = _probe(logs["mission_M1"]), _probe(logs["mission_M2"])
    assert sender["role"] == "sender" and receiver["role"] == "receiver"
    spans = sorted((f["started_at"], f["finished_at"]) for f in result["folds"])
    assert spans[1][0] < spans[0][1], "the two folds did not overlap"
    print(f"receiver watched {receiver['watched']} files: {_shared_probe_report(receiver)}")
    hostile_report.append(
        {
            "case": "shared-path probe, 2 folds at once (locks, flock, inotify, shm, mqueue)",
            "fold": "both",
            "expected": "nothing shared",
            "status": "shared: "
            + (
                ", ".join(p for v in _shared_probe_report(receiver).values() for p in v)
                or "nothing"
            ),
            "other": "-",
            "rss_mib": rss_mib,
            "reason": f"receiver watched {receiver['watched']} files; control finds docker-init",
        }
    )
    assert receiver["watched"] > 500
    assert _shared_probe_report(receiver) == {"locks": [], "flocks": [], "inotify": [], "shm": []}
    assert sender["writable"] == []


def test_five_concurrent_hostile_folds_keep_the_runner_small(
    docker_client: Any, tmp_path: Path, hostile_report: list[dict[str, Any]]
) -> None:
    """Five folds at once, each flooding stderr (256 MiB) and sending a valid message
    padded to 16 MiB: the runner's peak RSS (VmHWM) stays under 300 MiB."""
    bundle = bundle_variant(
        "synth-features-imbalanced",
        tmp_path / "bundle",
        time_limits={"handshake_seconds": 30, "fit_seconds": 60, "predict_seconds": 30},
        resources={"memory": "256MiB", "cpus": 1.0, "gpus": 0},
    )
    image = _build(docker_client, "heavy", TARGET_FOLD="*")
    code, rss, _stdout, stderr = _run(
        image, bundle, tmp_path / "results", "--jobs", "5", "--fold-schedule", "concurrent"
    )
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    result = json.loads(result_path.read_text())
    statuses = [f["status"] for f in result["folds"]]
    print(f"5 concurrent hostile folds: {statuses}; runner peak RSS {rss:.0f} MiB")
    hostile_report.append(
        {
            "case": "heavy: 256 MiB stderr + 16 MiB padded line, 5 folds at once",
            "fold": "all 5",
            "expected": "protocol_error",
            "status": ", ".join(sorted(set(statuses))),
            "other": "-",
            "rss_mib": rss,
            "reason": result["folds"][0]["reason"],
        }
    )
    assert code == 1, stderr[-2000:]
    assert statuses == ["protocol_error"] * 5
    spans = sorted((f["started_at"], f["finished_at"]) for f in result["folds"])
    assert spans[-1][0] < spans[0][1], "the five folds did not all overlap"
    assert rss < 300


def test_sigkill_leaves_no_container_running(
    docker_client: Any, tmp_path: Path, hostile_report: list[dict[str, Any]]
) -> None:
    """A runner killed with SIGKILL mid-fold: its watchdog removes its containers (and its
    staged training copies) within seconds, long before any later run could reap them."""
    bundle = bundle_variant(
        "synth-lomo-highdim",
        tmp_path / "bundle",
        folds=["mission_M1", "mission_M2"],
        time_limits={"handshake_seconds": 120, "fit_seconds": 30, "predict_seconds": 30},
    )
    image = _build(docker_client, "silent_handshake", TARGET_FOLD="*")
    staging = tmp_path / "staging"
    command = [sys.executable, "-m", "runner", "run", "--image", image, "--bundle", str(bundle),
               "--results", str(tmp_path / "results"), "--jobs", "2"]  # fmt: skip
    runner = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "AIRLOCK_STAGING_DIR": str(staging)},
    )

    def mine() -> list[dict[str, Any]]:
        # The low-level listing: one call, no per-container inspect that could race a removal.
        found = docker_client.api.containers(all=True, filters={"label": LABEL_MANAGED})
        return [
            c
            for c in found
            if (c.get("Labels") or {}).get(LABEL_OWNER, "").split(":")[1:2] == [str(runner.pid)]
        ]

    deadline = time.monotonic() + 60
    while len([c for c in mine() if c["State"] == "running"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(mine()) == 2, "the run did not start its two containers"
    assert any(staging.rglob("X.csv"))
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    killed = time.monotonic()
    while mine() and time.monotonic() - killed < 30:
        time.sleep(0.1)
    gone_after = time.monotonic() - killed
    print(f"containers of the killed runner gone {gone_after:.1f} s after SIGKILL")
    hostile_report.append(
        {
            "case": "runner killed with SIGKILL mid-fold (2 containers)",
            "fold": "both",
            "expected": "containers gone < 10 s",
            "status": f"gone after {gone_after:.1f} s",
            "other": "-",
            "rss_mib": 0.0,
            "reason": "by the runner's watchdog; staged training copies removed",
        }
    )
    assert mine() == []
    assert gone_after < 10
    assert not any(staging.rglob("*.csv")), "staged training copies left behind"


def test_a_service_kill_of_runner_and_watchdog_is_caught_by_cleanup_watch(
    docker_client: Any, tmp_path: Path
) -> None:
    """Stopping a whole service (systemd, `docker stop` of a worker container) kills the
    runner and its watchdog together. `airlock cleanup --watch`, run as its own service,
    removes what they left within seconds: the owner is dead."""
    bundle = bundle_variant(
        "synth-lomo-highdim", tmp_path / "bundle", folds=["mission_M1"],
        time_limits={"handshake_seconds": 120, "fit_seconds": 30, "predict_seconds": 30},
    )  # fmt: skip
    image = _build(docker_client, "silent_handshake", TARGET_FOLD="*")
    command = [sys.executable, "-m", "runner", "run", "--image", image, "--bundle", str(bundle),
               "--results", str(tmp_path / "results")]  # fmt: skip
    runner = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    owner = f":{runner.pid}:"

    def left() -> list[dict[str, Any]]:
        found = docker_client.api.containers(all=True, filters={"label": LABEL_MANAGED})
        return [c for c in found if owner in (c.get("Labels") or {}).get(LABEL_OWNER, "")]

    deadline = time.monotonic() + 60
    while not left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left(), "the run did not start its container"
    watchdogs = subprocess.run(["pgrep", "-f", f"runner.sandbox.docker.watchdog .*{owner}"],
                               capture_output=True, text=True, check=False).stdout.split()  # fmt: skip
    assert watchdogs, "no watchdog found for the runner"
    for pid in [runner.pid, *map(int, watchdogs)]:  # the whole service, at once
        os.kill(pid, signal.SIGKILL)
    runner.wait()
    time.sleep(2)
    assert left(), "with its watchdog killed too, the container should still be there"
    reaper = subprocess.Popen([sys.executable, "-m", "runner", "cleanup", "--watch",
                               "--interval", "1"], cwd=REPO, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        killed = time.monotonic()
        while left() and time.monotonic() - killed < 20:
            time.sleep(0.2)
        assert left() == [], "cleanup --watch did not remove the orphan"
        print(f"orphan removed by cleanup --watch {time.monotonic() - killed:.1f} s after start")
    finally:
        reaper.terminate()
        reaper.wait()


def test_a_container_past_its_deadline_is_reaped_even_with_its_owner_alive(
    docker_client: Any,
) -> None:
    """A live runner that lost track of a container (stuck, or stopped in a debugger):
    past its deadline, any Airlock process removes it; before it, nobody does."""
    from runner.limits import LABEL_DEADLINE
    from runner.sandbox.docker.cleanup import owner_label

    alive = owner_label()  # this test process: alive
    made = {
        when: docker_client.containers.create(
            "airlock/base:bookworm", ["sleep", "600"],
            labels={LABEL_MANAGED: "1", LABEL_OWNER: alive, LABEL_DEADLINE: str(deadline)},
        ).id
        for when, deadline in (("past", int(time.time()) - 5), ("future", int(time.time()) + 600))
    }  # fmt: skip
    try:
        for container in made.values():
            docker_client.api.start(container)
        done = subprocess.run([sys.executable, "-m", "runner", "cleanup"], cwd=REPO,
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        remaining = {c["Id"] for c in docker_client.api.containers(all=True)}
        assert made["past"] not in remaining
        assert made["future"] in remaining
    finally:
        for container in made.values():
            with contextlib.suppress(Exception):
                docker_client.api.remove_container(container, force=True)


@pytest.mark.parametrize(("schedule", "open_channel"), [
    ("one-per-submission", True), ("one-per-host", False),
])  # fmt: skip
def test_the_page_cache_channel_between_folds_and_the_schedule_that_closes_it(
    docker_client: Any,
    tmp_path: Path,
    schedule: str,
    open_channel: bool,
    hostile_report: list[dict[str, Any]],
) -> None:
    """Folds of one image read the same host files, so a page one fold reads stays cached
    for the next (mincore tells; so does the time a read takes): a channel from fold to fold
    that no container setting closes. `one-per-host` empties the image's page cache before
    every fold: the next fold finds nothing."""
    bundle = bundle_variant(
        "synth-lomo-highdim", tmp_path / "bundle", folds=["mission_M1", "mission_M2"],
        time_limits={"handshake_seconds": 60, "fit_seconds": 60, "predict_seconds": 30},
    )  # fmt: skip
    image = _build(docker_client, "page_cache", TARGET_FOLD="*", PROBE_SENDER_FOLD="mission_M1")
    code, rss, _out, err = _run(image, bundle, tmp_path / "results", "--fold-schedule", schedule)
    assert code == 0, err[-2000:]
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    folds = {f["fold_id"]: f for f in json.loads(result_path.read_text())["folds"]}
    assert folds["mission_M1"]["finished_at"] <= folds["mission_M2"]["started_at"]  # in turn
    receiver = _probe(result_path.parent / folds["mission_M2"]["log_file"])
    share = receiver["cached"] / receiver["pages"]
    print(f"{schedule}: the next fold found {share:.0%} of the sender's file cached")
    hostile_report.append(
        {
            "case": f"page cache of an image file, fold to fold, {schedule}",
            "fold": "M1 then M2", "expected": "open" if open_channel else "closed",
            "status": f"{share:.0%} of pages cached", "other": "-", "rss_mib": rss,
            "reason": "mincore on a file the previous fold read",
        }
    )  # fmt: skip
    assert receiver["mincore"] == 0
    assert (share > 0.5) is open_channel
