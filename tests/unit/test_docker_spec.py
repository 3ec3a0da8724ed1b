"""The container settings, checked as data: isolation defaults and the GPU request."""

from __future__ import annotations

from pathlib import Path

from runner.limits import AppliedLimits
from runner.sandbox.base import SandboxSpec
from runner.sandbox.docker.spec import create_kwargs, gpu_problem


def _spec(**changes: object) -> SandboxSpec:
    values: dict[str, object] = {
        "handshake_seconds": 30,
        "fit_seconds": 60,
        "predict_seconds": 60,
        "memory_bytes": 512 * 2**20,
        "cpus": 1.5,
        "gpus": 0,
    }
    values.update(changes)
    return SandboxSpec(
        image="sha256:abc",
        train_dir=Path("/data/bundle/folds/f1/train"),
        limits=AppliedLimits.model_validate(values),
    )


def test_isolation_defaults() -> None:
    kwargs = create_kwargs(_spec())
    assert kwargs["network_mode"] == "none"
    assert kwargs["read_only"] is True
    assert kwargs["cap_drop"] == ["ALL"]
    assert kwargs["security_opt"] == ["no-new-privileges:true"]
    assert kwargs["user"] == "10001:10001"
    assert kwargs["mem_limit"] == kwargs["memswap_limit"] == 512 * 2**20
    assert kwargs["nano_cpus"] == 1_500_000_000
    assert kwargs["pids_limit"] == 256
    # Nothing on the host shared between containers: no engine init binary (one host file
    # bind-mounted into every container), no /dev/shm, a read-only /dev/mqueue, IPC at zero.
    assert "init" not in kwargs
    assert kwargs["ipc_mode"] == "none"
    assert kwargs["mounts"] == [
        {
            "Target": "/dev/mqueue",
            "Type": "tmpfs",
            "ReadOnly": True,
            "TmpfsOptions": {"SizeBytes": 4096},
        }
    ]
    assert kwargs["ulimits"] == [{"name": "msgqueue", "soft": 0, "hard": 0}]
    assert kwargs["sysctls"]["kernel.shmmax"] == "0" and kwargs["sysctls"]["kernel.msgmni"] == "0"
    assert kwargs["log_config"] == {"Type": "none", "Config": {}}
    assert kwargs["volumes"] == {
        "/data/bundle/folds/f1/train": {"bind": "/airlock/train", "mode": "ro"}
    }
    assert kwargs["tmpfs"]["/tmp"].startswith("rw,nosuid,nodev,size=268435456")
    assert kwargs["environment"]["OMP_NUM_THREADS"] == "2"
    assert "device_requests" not in kwargs


def test_gpu_request_uses_a_device_request_with_the_count() -> None:
    kwargs = create_kwargs(_spec(gpus=2))
    assert kwargs["device_requests"] == [{"count": 2, "capabilities": [["gpu"]]}]


def test_gpu_problem_names_the_missing_runtime() -> None:
    assert gpu_problem(_spec(gpus=0), {"runc"}) is None
    assert gpu_problem(_spec(gpus=1), {"runc", "nvidia"}) is None
    message = gpu_problem(_spec(gpus=1), {"runc", "io.containerd.runc.v2"})
    assert message is not None
    assert "asks for 1 GPU(s)" in message and "no 'nvidia' runtime" in message
    assert "io.containerd.runc.v2, runc" in message
