"""``airlock doctor``: is this machine ready to run submissions, and if not, what to do.

Each check gives a finding (ok, warn, fail or skip) with the fix for anything not ok.
Checks that need the engine are skipped, not failed, when the engine is unreachable, so
the first failure shown is the one to fix first.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from runner import __version__
from runner.errors import AirlockError, EngineUnavailable, ImageUnavailable, StoreError
from runner.sandbox.base import EngineFacts, SandboxProvider
from runner.sandbox.providers import provider_for
from runner.sandbox.runtimes import GVISOR, runtime_kind

State = Literal["ok", "warn", "fail", "skip"]

REQUIRED_IMAGES = ("airlock/base:bookworm", "airlock/sdk:latest")
MIN_API_VERSION = (1, 41)  # Docker 20.10: the oldest engine Airlock is tested on
DISK_FAIL_BYTES = 2 * 2**30
DISK_WARN_BYTES = 10 * 2**30
_START_ENGINE = (
    "start the engine: `sudo scripts/ensure-docker.sh` (installs docker.io if needed and "
    "starts dockerd), or `sudo systemctl start docker`"
)
_BUILD_IMAGES = "build them: `make images` (or `scripts/build-images.sh`), offline, about 2 min"


@dataclass(frozen=True)
class Finding:
    check: str
    state: State
    detail: str
    fix: str = ""


def engine_fix(problem: str) -> str:
    """What to do when the engine cannot be reached, from how it failed."""
    if "permission denied" in problem.lower():
        return (
            "your user may not use the engine socket: run as root, or join the docker group "
            "(`sudo usermod -aG docker $USER`, then log in again)"
        )
    if os.environ.get("DOCKER_HOST"):
        return (
            f"DOCKER_HOST={os.environ['DOCKER_HOST']} points at no running engine: start the "
            f"engine there, or unset DOCKER_HOST to use the local one; locally, {_START_ENGINE}"
        )
    return _START_ENGINE


def _api_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


def check_version(facts: EngineFacts) -> Finding:
    api = facts.api_version or "?"
    detail = f"{facts.version} (API {api}) at {facts.address}"
    if _api_tuple(api) < MIN_API_VERSION:
        wanted = ".".join(map(str, MIN_API_VERSION))
        return Finding(
            "engine", "fail", detail, f"upgrade the engine to Docker 20.10 or later (API {wanted})"
        )
    return Finding("engine", "ok", detail)


def check_isolation(info: dict[str, Any]) -> Finding:
    """The kernel features the sandbox relies on to enforce a bundle's limits."""
    missing = [
        name
        for name, key in (
            ("memory limits", "MemoryLimit"),
            ("process limits", "PidsLimit"),
            ("CPU quotas", "CpuCfsQuota"),
        )
        if not info.get(key)
    ]
    cgroup = f"cgroup v{info.get('CgroupVersion', '?')} ({info.get('CgroupDriver', '?')})"
    seccomp = any("seccomp" in option for option in info.get("SecurityOptions") or [])
    detail = f"{cgroup}, seccomp {'on' if seccomp else 'off'}"
    if missing:
        return Finding(
            "isolation",
            "fail",
            f"{detail}; the engine cannot enforce {', '.join(missing)}",
            "enable the cgroup controllers (e.g. `cgroup_enable=memory swapaccount=1` on the "
            "kernel command line) and restart dockerd",
        )
    if not info.get("SwapLimit"):
        return Finding(
            "isolation",
            "warn",
            f"{detail}; no swap limit: a submission may swap past its memory limit",
            "add `swapaccount=1` to the kernel command line and reboot",
        )
    if not seccomp:
        return Finding("isolation", "warn", detail, "run dockerd with its default seccomp profile")
    return Finding("isolation", "ok", detail)


def _gpu_count() -> int | None:
    """GPUs the host's NVIDIA driver lists, or None when it cannot be asked."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        listed = subprocess.run(
            [smi, "-L"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU "))


def check_gpu(facts: EngineFacts, count: Callable[[], int | None] = _gpu_count) -> Finding:
    if not facts.gpu_capable:
        return Finding(
            "gpu",
            "warn",
            "no 'nvidia' runtime: CPU only; runs of bundles that ask for GPUs are refused here",
            "only for GPU bundles: install the NVIDIA driver and the NVIDIA Container Toolkit, "
            "then `sudo nvidia-ctk runtime configure --runtime=docker` and restart dockerd",
        )
    gpus = count()
    if gpus is None:
        return Finding("gpu", "warn", "'nvidia' runtime present; nvidia-smi not found", "")
    if gpus == 0:
        return Finding(
            "gpu",
            "fail",
            "'nvidia' runtime present but the driver lists no GPU",
            "check the NVIDIA driver (`nvidia-smi`); GPU bundles cannot run until it lists one",
        )
    return Finding("gpu", "ok", f"'nvidia' runtime, {gpus} GPU(s)")


GVISOR_FIX = (
    "only for bundles that require it (isolation: {runtime: runsc}): `sudo "
    "scripts/ensure-gvisor.sh` installs Debian's runsc, adds the runtime `runsc` to "
    "/etc/docker/daemon.json with the arguments that work without KVM "
    '("runtimeArgs": ["--platform=ptrace", "--network=none"]) and reloads dockerd '
    "(kill -HUP, or `systemctl reload docker`)"
)


def check_gvisor(
    runtimes: dict[str, Any],
    start: Callable[[str], float],
    installed: Callable[[str], str | None] = shutil.which,
) -> Finding:
    """The engine's runtimes, and whether gVisor works: a trivial container is started
    under it (``start`` returns its seconds or raises AirlockError)."""
    listed = ", ".join(sorted(runtimes)) or "none"
    gvisor = sorted(name for name in runtimes if runtime_kind(name, runtimes) == GVISOR)
    if not gvisor:
        binary = installed(GVISOR)
        where = f"runsc is installed ({binary}) but is not" if binary else "gVisor (runsc) is not"
        return Finding("gvisor", "warn", f"runtimes: {listed}; {where} a runtime of the engine",
                       GVISOR_FIX)  # fmt: skip
    name = GVISOR if GVISOR in gvisor else gvisor[0]
    entry = runtimes.get(name) or {}
    arguments = " ".join(entry.get("runtimeArgs") or []) if isinstance(entry, dict) else ""
    try:
        seconds = start(name)
    except ImageUnavailable:
        return Finding("gvisor", "skip", f"runtimes: {listed}; trying '{name}' needs the images")
    except AirlockError as exc:
        return Finding(
            "gvisor",
            "fail",
            f"runtimes: {listed}; a container under '{name}' ({arguments}) fails: {exc}",
            "check `runsc --version` and dockerd's log; on hosts without KVM use "
            "--platform=ptrace, and --network=none (`sudo scripts/ensure-gvisor.sh` writes both)",
        )
    return Finding(
        "gvisor", "ok", f"runtimes: {listed}; '{name}' ({arguments}) starts a container in "
        f"{seconds:.1f} s: `airlock run --runtime {name}`",
    )  # fmt: skip


def check_disk(info: dict[str, Any]) -> Finding:
    root = str(info.get("DockerRootDir") or "")
    try:
        usage = shutil.disk_usage(root)
    except OSError:
        return Finding("disk", "skip", f"the engine's data root {root or '?'} is not visible here")
    free = usage.free
    detail = f"{free / 2**30:.1f} GiB free of {usage.total / 2**30:.1f} GiB under {root}"
    fix = (
        "free space: `docker system prune` (unused images and build cache), or move the "
        "engine's data-root (/etc/docker/daemon.json) to a larger disk"
    )
    if free < DISK_FAIL_BYTES:
        return Finding("disk", "fail", detail + "; images need about 2 GiB", fix)
    if free < DISK_WARN_BYTES:
        return Finding("disk", "warn", detail, fix)
    return Finding("disk", "ok", detail)


def check_images(provider: SandboxProvider, images: tuple[str, ...] = REQUIRED_IMAGES) -> Finding:
    missing = [ref for ref in images if not provider.has_image(ref)]
    if missing:
        return Finding("images", "fail", f"missing: {', '.join(missing)}", _BUILD_IMAGES)
    return Finding("images", "ok", ", ".join(images))


def check_store(uri: str) -> Finding:
    from runner.results.store import store_at

    try:
        return Finding("store", "ok", store_at(uri).probe())
    except StoreError as exc:
        if uri.startswith("s3://"):
            fix = (
                "check AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the "
                "profile) and that the bucket exists"
            )
        else:
            fix = "choose a writable directory with --results"
        return Finding("store", "fail", str(exc), fix)


def diagnose(results: str = "results", images: tuple[str, ...] = REQUIRED_IMAGES) -> list[Finding]:
    """Every check, in the order their fixes should be applied."""
    findings = [
        Finding(
            "runner",
            "ok",
            f"airlock {__version__}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}",
        )
    ]
    try:
        provider = provider_for("docker", timeout=15)
        facts = provider.facts()
    except EngineUnavailable as exc:
        findings.append(Finding("engine", "fail", str(exc), engine_fix(str(exc))))
        findings += [
            Finding(name, "skip", "needs the engine")
            for name in ("isolation", "gpu", "gvisor", "disk", "images")
        ]
    else:
        findings += [check_version(facts), check_isolation(facts.info), check_gpu(facts)]
        runtimes = dict(facts.info.get("Runtimes") or {})
        trial_image = images[0] if images else REQUIRED_IMAGES[0]
        findings.append(
            check_gvisor(runtimes, lambda name: provider.try_runtime(name, trial_image))
        )
        findings.append(check_disk(facts.info))
        try:
            findings.append(check_images(provider, images))
        except EngineUnavailable as exc:
            findings.append(Finding("images", "fail", str(exc), engine_fix(str(exc))))
    findings.append(check_store(results))
    return findings
