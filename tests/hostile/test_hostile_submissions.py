"""The hostile suite: real images that attack the sandbox, one attack per case.

For every case: the attacked fold ends with the expected typed status and a one-line
reason, the other fold of the same run is ok, nothing of the run is left behind
(containers, volumes, networks, temporary files), and the runner process stays under
300 MB of peak RSS, floods included."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from runner.limits import LABEL_RUN
from tests.helpers import REPO
from tests.hostile.conftest import TARGET_FOLD, Listener

pytestmark = pytest.mark.docker

HOSTILE = REPO / "tests" / "fixtures" / "hostile"
RSS_LIMIT_MIB = 300

CASES = [
    # (behaviour, expected status, text the full reason must contain)
    ("probe_network", "ok", ""),
    ("probe_files", "ok", ""),
    ("probe_privileges", "ok", ""),
    ("silent_handshake", "timeout", "handshake phase exceeded its 8 s limit"),
    ("binary_stdout", "protocol_error", "stdout line is not JSON"),
    ("oom", "oom", "more than 256 MiB of memory during fit"),
    ("cpu_spin", "timeout", "fit phase exceeded its 15 s limit"),
    ("fork_bomb", "timeout", "fit phase exceeded its 15 s limit"),
    ("fill_tmp", "crashed", "exited with exit code 1 during fit"),
    ("crash_fit", "crashed", "exited with exit code 3 during fit"),
    ("stderr_flood", "ok", ""),
    ("stdout_flood", "protocol_error", "longer than the 65536-byte limit of a control message"),
    ("long_line", "protocol_error", "longer than the 65536-byte limit of a control message"),
    ("padded_fitted", "protocol_error", "longer than the 65536-byte limit of a control message"),
    ("huge_integer", "protocol_error", "an integer longer than 20 digits (during fit)"),
    ("tag_exfil", "protocol_error", "is not one of ready, fitted, predictions, error (during fit)"),
    (
        "markup_tag",
        "protocol_error",
        "is not one of ready, fitted, predictions, error (during fit)",
    ),
    ("probe_ipc", "ok", ""),
    ("exit_before_predicting", "protocol_error", "exited with code 0 during predict"),
    ("background_process", "ok", ""),
    ("nan", "invalid_predictions", "NaN or infinite probabilities"),
    ("infinity", "invalid_predictions", "NaN or infinite probabilities"),
    ("out_of_range", "invalid_predictions", "probabilities outside [0, 1]"),
    ("duplicate_id", "invalid_predictions", "predicted more than once"),
    ("missing_id", "invalid_predictions", "have no prediction"),
    ("extra_id", "invalid_predictions", "are not test ids: 'sample-that-is-not-there'"),
    ("wrong_classes", "invalid_predictions", "binary proba must be one number per id"),
]


def _gateway(docker_client: Any) -> str:
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))


def _build(docker_client: Any, behaviour: str, **args: str) -> str:
    tag = f"airlock-test/hostile-{behaviour.replace('_', '-')}:latest"
    docker_client.images.build(
        path=str(HOSTILE),
        tag=tag,
        rm=True,
        buildargs={"BEHAVIOUR": behaviour, "TARGET_FOLD": TARGET_FOLD, **args},
    )
    return tag


class PeakRss:
    """A process's own peak RSS (VmHWM, read every 20 ms while it runs). Not wait4's
    ru_maxrss: Linux carries the parent's high-water mark into a child across fork and exec,
    so a child of a large test process would "peak" at the test process's size."""

    def __init__(self, pid: int) -> None:
        self.kib = 0
        self._pid = pid
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            try:
                status = Path(f"/proc/{self._pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.kib = max(self.kib, int(line.split()[1]))
            self._done.wait(0.02)

    def stop(self) -> float:
        """The peak in MiB; call before reaping the process."""
        self._done.set()
        self._thread.join()
        return self.kib / 1024


def _run(image: str, bundle: Path, results: Path, *extra: str) -> tuple[int, float, str, str]:
    """`airlock run` as a real process; returns its exit code, its own peak RSS in MiB
    (``PeakRss``: this process alone) and its output."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "--image",
            image,
            "--bundle",
            str(bundle),
            "--results",
            str(results),
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    captured: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda: captured.__setitem__("out", process.stdout.read())),  # type: ignore[union-attr]
        threading.Thread(target=lambda: captured.__setitem__("err", process.stderr.read())),  # type: ignore[union-attr]
    ]
    peak = PeakRss(process.pid)
    for reader in readers:
        reader.start()
    # Wait for the exit without reaping, so the watcher reads the process to its last moment.
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    rss = peak.stop()
    process.wait()
    for reader in readers:
        reader.join()
    return (
        process.returncode,
        rss,
        captured["out"].decode(errors="replace"),
        captured["err"].decode(errors="replace"),
    )


def _leftovers(docker_client: Any, run_id: str) -> list[str]:
    found = [
        c.name
        for c in docker_client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
    ]
    found += [
        v.name for v in docker_client.volumes.list(filters={"label": f"{LABEL_RUN}={run_id}"})
    ]
    found += [
        n.name for n in docker_client.networks.list(filters={"label": f"{LABEL_RUN}={run_id}"})
    ]
    return found


_CONTROL = re.compile("\x1b\\]|\x1b\\[2J|\x07|\x9b")
"""Terminal escapes a submission might send: OSC (title, links), clear screen, bell, CSI."""


def _runner_own_lines(output: str) -> str:
    """The runner's output without the submission's quoted stderr (lines starting "| ")."""
    return "\n".join(line for line in output.splitlines() if not line.lstrip().startswith("| "))


GVISOR_CASES = {
    "probe_network", "probe_files", "probe_privileges", "probe_ipc", "silent_handshake", "oom",
    "cpu_spin", "fork_bomb", "crash_fit", "fill_tmp", "background_process",
}  # fmt: skip
"""The attacks on the kernel and on the limits, run again under gVisor (`--runtime runsc`):
the protocol and prediction cases do not depend on the runtime."""

UNDER_GVISOR = {
    # The sentry runs every process of the sandbox itself: the host's pid limit never sees
    # them, and the bomb ends when its processes fill the memory limit (or the fit limit).
    "fork_bomb": ("oom|timeout", "during fit"),
}
RUNTIME_CASES = [pytest.param(*case, "runc", id=case[0]) for case in CASES] + [
    pytest.param(
        case[0], *UNDER_GVISOR.get(case[0], case[1:]), "runsc",
        id=f"{case[0]}-gvisor", marks=pytest.mark.gvisor,
    )
    for case in CASES
    if case[0] in GVISOR_CASES
]  # fmt: skip


@pytest.mark.parametrize(("behaviour", "expected", "reason", "runtime"), RUNTIME_CASES)
def test_hostile_submission(
    behaviour: str,
    expected: str,
    reason: str,
    runtime: str,
    hostile_bundle: Path,
    listener: Listener,
    docker_client: Any,
    tmp_path: Path,
    hostile_report: list[dict[str, Any]],
    request: pytest.FixtureRequest,
) -> None:
    extra = ["--runtime", request.getfixturevalue("gvisor")] if runtime == "runsc" else []
    gateway = _gateway(docker_client)
    args = {
        "PROBE_TARGETS": f"{gateway}:{listener.port},127.0.0.1:{listener.port}",
        "PROBE_SEALED_PATH": str((hostile_bundle / "sealed").resolve()),
        "PROBE_OTHER_FOLD_PATH": str((hostile_bundle / "folds" / "mission_M2").resolve()),
        "PROBE_BUNDLE_PATH": str(hostile_bundle.resolve()),
    }
    image = _build(docker_client, behaviour, **args)
    volumes_before = {v.name for v in docker_client.volumes.list()}
    networks_before = {n.name for n in docker_client.networks.list()}
    code, rss, stdout, stderr = _run(image, hostile_bundle, tmp_path / "results", *extra)
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    result = json.loads(result_path.read_text())
    folds = {f["fold_id"]: f for f in result["folds"]}
    attacked, other = folds[TARGET_FOLD], folds["mission_M2"]
    assert attacked["resources"]["runtime"] == other["resources"]["runtime"] == runtime
    hostile_report.append(
        {
            "case": behaviour + (" (gVisor)" if runtime == "runsc" else ""),
            "fold": TARGET_FOLD,
            "expected": expected,
            "status": attacked["status"],
            "other": other["status"],
            "rss_mib": rss,
            "reason": attacked["reason"] or "-",
        }
    )
    assert attacked["status"] in expected.split("|"), (attacked["reason"], stderr[-2000:])
    assert reason in attacked["reason"]
    assert "\n" not in attacked["reason"]
    assert len(attacked["reason"]) <= 700  # capped whatever the submission sent
    assert result_path.stat().st_size < 200_000
    assert not _CONTROL.search(stdout + stderr), "escape sequences reached the terminal"
    assert other["status"] == "ok", other["reason"]
    assert code == (0 if expected == "ok" else 1), stderr[-2000:]
    assert "Traceback" not in _runner_own_lines(stdout + stderr)
    assert _leftovers(docker_client, result["provenance"]["run_id"]) == []
    assert {v.name for v in docker_client.volumes.list()} == volumes_before
    assert {n.name for n in docker_client.networks.list()} == networks_before
    assert not [p for p in (tmp_path / "results").rglob("*") if p.name.endswith(".tmp")]
    assert rss < RSS_LIMIT_MIB, f"runner peak RSS {rss:.0f} MiB"
    log = result_path.parent / attacked["log_file"] if attacked.get("log_file") else None
    probe = _probe(log)
    if behaviour == "probe_network":
        assert probe["interfaces"] == ["lo"]
        # UDP to 127.0.0.1 "succeeds" into the container's own loopback (nothing there); every
        # other attempt fails outright, and nothing reaches the host's listeners either way.
        escaping = {
            k: v
            for k, v in probe.items()
            if k not in ("interfaces", f"udp 127.0.0.1:{listener.port}")
        }
        assert all(v.startswith("failed") for v in escaping.values()), probe
        assert probe["raw_socket"] == "failed: PermissionError"
        assert listener.seen == []
    elif behaviour == "probe_files":
        assert probe["data_files"] == ["/airlock/train/X.csv", "/airlock/train/y.csv"]
        assert probe["sealed_path_exists"] is False
        assert probe["other_fold_exists"] is False
        assert probe["docker_socket"] == []
        assert probe["write_train"].startswith("failed")
        assert probe["write_root"].startswith("failed")
        assert probe["write_tmp"].startswith("succeeded")
    elif behaviour == "probe_privileges":
        assert (probe["uid"], probe["euid"]) == (10001, 10001)
        assert probe["no_new_privs"] == "1"
        assert int(probe["cap_eff"], 16) == 0
        assert int(probe["cap_bnd"], 16) == 0
        assert probe["setuid_mount_exit"] != 0
    elif behaviour == "probe_ipc":
        # gVisor's sentry implements the IPC system calls itself, in the sandbox's own memory
        # (seen by no other fold, counted against its limit), and ignores the zero IPC
        # sysctls: the objects it makes cannot reach the host, so only the mounts are checked.
        objects = ("mq_open", "shmget", "semget", "msgget") if runtime == "runc" else ()
        for key in ("dev_shm", "dev_mqueue", *objects):
            assert probe[key].startswith("failed"), (key, probe[key])
        if runtime == "runsc":
            print(
                "IPC objects under gVisor:",
                {k: probe[k] for k in ("mq_open", "shmget", "semget", "msgget")},
            )
        assert probe["writable_dirs"] == ["/tmp"]
        assert probe["bundle_path_in_mountinfo"] is False
        assert probe["bundle_name_in_mountinfo"] is False
        assert probe["init_binary_mounted"] is False
        assert probe["train_readable_at_hello"].startswith("failed: PermissionError")
    elif behaviour == "tag_exfil":  # a dry run quotes its own text, escaped and capped
        assert "(60000 characters in all)" in attacked["reason"]
        assert len(attacked["reason"]) < 300
    elif behaviour == "markup_tag":
        assert "[/x]" in stdout + stderr  # shown as text, not taken as markup
    elif behaviour == "stderr_flood":
        assert attacked["log_bytes"] >= 2 * 2**30
        assert log is not None and log.stat().st_size < 2 * 2**20  # kept: head and tail, 1 MiB


def _probe(log: Path | None) -> dict[str, Any]:
    if log is None or not log.is_file():
        return {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("AIRLOCK_PROBE "):
            return dict(json.loads(line.removeprefix("AIRLOCK_PROBE ")))
    return {}


SEALED_CASES = [
    ("exfil_stdout", "protocol_error", "stdout line is not JSON (during fit)"),
    ("exfil_error", "crashed", "the submission reported an error during fit (message withheld)"),
    ("exfil_ids", "invalid_predictions", "some predicted ids are not test ids"),
    (
        "tag_exfil",
        "protocol_error",
        "message type is not one of ready, fitted, predictions, error (during fit)",
    ),
    ("exit_code_channel", "crashed", "exited with a non-zero exit code during fit"),
    ("count_channel", "invalid_predictions", "some of the 32 test ids have no prediction"),
    ("stderr_size_channel", "ok", ""),
]


@pytest.mark.parametrize(
    ("behaviour", "expected", "public_reason"), SEALED_CASES, ids=[c[0] for c in SEALED_CASES]
)
def test_sealed_mode_lets_nothing_the_submission_wrote_out(
    behaviour: str,
    expected: str,
    public_reason: str,
    hostile_bundle: Path,
    docker_client: Any,
    tmp_path: Path,
    hostile_report: list[dict[str, Any]],
) -> None:
    """The submission reads its training data and tries to smuggle it out through stdout
    junk, its own error message, prediction ids, a message type, its exit code, how many ids
    it leaves out, how much it writes to stderr, its name and stderr. In sealed mode the
    result (what participants see) and the console hold none of it: fixed public reasons,
    bucketed figures; the organizer's private record and log have it."""
    image = _build(docker_client, behaviour)
    train = (hostile_bundle / "folds" / TARGET_FOLD / "train" / "X.csv").read_text().splitlines()[1]
    token = "SECRET[" + train.strip()[:60] + "]"
    labels = (hostile_bundle / "folds" / TARGET_FOLD / "train" / "y.csv").read_text()
    code, rss, stdout, stderr = _run(image, hostile_bundle, tmp_path / "results", "--sealed-mode")
    (result_path,) = (tmp_path / "results").glob("*/*/result.json")
    text = result_path.read_text()
    result = json.loads(text)
    attacked = next(f for f in result["folds"] if f["fold_id"] == TARGET_FOLD)
    hostile_report.append(
        {
            "case": f"{behaviour} (sealed mode)",
            "fold": TARGET_FOLD,
            "expected": expected,
            "status": attacked["status"],
            "other": next(f["status"] for f in result["folds"] if f["fold_id"] != TARGET_FOLD),
            "rss_mib": rss,
            "reason": attacked["reason"] or "-",
        }
    )
    assert attacked["status"] == expected
    assert attacked["reason"] == public_reason
    assert attacked["log_tail"] == []
    assert attacked["submission_name"] is None
    assert attacked["log_bytes"] is None and attacked["log_file"] is None
    assert attacked["resources"]["exit_code"] in (0, 1, 137, None)
    assert set(attacked["resources"]["phases"]) <= {"handshake", "fit", "predict"}
    assert attacked["finished_at"].split(":")[2].startswith("00")
    assert token[:20] not in text
    assert token[:20] not in stdout + stderr
    for row in labels.splitlines()[1:6]:
        assert row not in text and row not in stdout + stderr
    assert result["provenance"]["log_policy"] == "sealed"
    assert code == (0 if expected == "ok" else 1)
    private = json.loads((result_path.parent / "folds" / f"{TARGET_FOLD}.json").read_text())[
        "private"
    ]
    assert private["log_bytes"] is not None  # the organizer keeps the exact figures
    if behaviour == "exit_code_channel":
        assert private["resources"]["exit_code"] not in (0, 1)
    if behaviour in ("exfil_error", "exfil_ids"):  # and what it wrote to stderr
        assert token in (result_path.parent / private["log_file"]).read_text()


def test_gpu_request_is_refused_before_anything_starts(
    hostile_bundle: Path, docker_client: Any, tmp_path: Path, hostile_report: list[dict[str, Any]]
) -> None:
    if "nvidia" in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("this engine has the nvidia runtime; the refusal cannot be shown here")
    from tests.helpers import bundle_variant

    bundle = bundle_variant(
        "synth-lomo-highdim",
        tmp_path,
        folds=["mission_M1"],
        resources={"memory": "256MiB", "cpus": 1.0, "gpus": 1},
    )
    before = {c.id for c in docker_client.containers.list(all=True)}
    code, rss, _stdout, stderr = _run(_build(docker_client, "noop"), bundle, tmp_path / "results")
    hostile_report.append(
        {
            "case": "gpu_request (bundle asks for 1 GPU)",
            "fold": "-",
            "expected": "refused (exit 3)",
            "status": f"exit {code}",
            "other": "-",
            "rss_mib": rss,
            "reason": stderr.strip().splitlines()[-1],
        }
    )
    assert code == 3
    assert "no 'nvidia' runtime" in stderr
    assert len(stderr.strip().splitlines()) == 1
    # Nothing started (other users of the engine may remove theirs meanwhile).
    assert {c.id for c in docker_client.containers.list(all=True)} - before == set()
    assert not (tmp_path / "results").exists()
