"""Everything decided about a run before any fold starts: the limits each bundle runs
under (its own, lowered where asked), the bundles loaded and verified with their sealed
labels, and one :class:`BundlePlan` per bundle."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import limits, resume
from runner.bundle import manifest
from runner.bundle.load import Bundle, load_bundle, suite_bundles
from runner.bundle.spec import parse_bytes
from runner.errors import BundleError, UsageError
from runner.evaluate import FoldJob, LogPolicy
from runner.limits import AppliedLimits
from runner.probe_settings import ProbePlan
from runner.results.store import result_key
from runner.sandbox.base import ImageInfo


@dataclass(frozen=True)
class ResourceRequest:
    """What the submitter asks for; None means "what the bundle allows"."""

    memory: str | None = None
    cpus: float | None = None
    gpus: int | None = None


@dataclass(frozen=True)
class TimeRequest:
    """Shorter phase limits for a dry run (seconds); None means "what the bundle allows"."""

    handshake: float | None = None
    fit: float | None = None
    predict: float | None = None

    @property
    def given(self) -> bool:
        return any(v is not None for v in (self.handshake, self.fit, self.predict))


def _lowered(name: str, asked: float | None, allowed: float, bundle: Bundle) -> float:
    if asked is None:
        return allowed
    if not 0 < asked <= allowed:
        raise UsageError(
            f"--{name}-seconds {asked:g} must be above 0 and at most bundle "
            f"{bundle.spec.id!r}'s {allowed:g} s"
        )
    return asked


def applied_limits(
    bundle: Bundle, request: ResourceRequest, times: TimeRequest | None = None
) -> AppliedLimits:
    """The bundle's limits, lowered where the request asks for less; more is refused."""
    allowed = bundle.spec.resources
    memory = allowed.memory_bytes
    if request.memory is not None:
        try:
            asked = parse_bytes(request.memory)
        except ValueError as exc:
            raise UsageError(f"--memory: {exc}") from None
        if asked > memory:
            raise UsageError(
                f"--memory {request.memory} is more than bundle {bundle.spec.id!r} allows "
                f"({allowed.memory})"
            )
        memory = asked
    cpus = allowed.cpus
    if request.cpus is not None:
        if not 0 < request.cpus <= cpus:
            raise UsageError(
                f"--cpus {request.cpus:g} must be above 0 and at most the bundle's {cpus:g}"
            )
        cpus = request.cpus
    gpus = allowed.gpus
    if request.gpus is not None:
        if not 0 <= request.gpus <= gpus:
            raise UsageError(f"--gpus {request.gpus} must be between 0 and the bundle's {gpus}")
        gpus = request.gpus
    limits_of = bundle.spec.time_limits
    times = times or TimeRequest()
    return AppliedLimits(
        handshake_seconds=_lowered(
            "handshake", times.handshake, limits_of.handshake_seconds, bundle
        ),
        fit_seconds=_lowered("fit", times.fit, limits_of.fit_seconds, bundle),
        predict_seconds=_lowered("predict", times.predict, limits_of.predict_seconds, bundle),
        memory_bytes=memory,
        cpus=cpus,
        gpus=gpus,
        pids_limit=limits.PIDS_LIMIT,
        # /tmp lives in memory: cap it at half the memory limit so filling it ends in a
        # clear "no space" for the submission, not in an out-of-memory kill.
        tmpfs_bytes=min(limits.TMPFS_BYTES, memory // 2),
        user=limits.CONTAINER_USER,
        max_message_bytes=limits.MAX_MESSAGE_BYTES,
    )


def team_of(image_ref: str) -> str:
    """The default team: the image's repository name (``org/model:tag`` -> ``org/model``)."""
    name = image_ref.split("@", 1)[0]
    return name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name


def _sealed_dir_for(bundle_dir: Path, bundle_id: str, sealed: Path | None, several: bool) -> Path:
    if sealed is None:
        return bundle_dir / manifest.SEALED_DIR_NAME
    if (sealed / bundle_id).is_dir():
        return sealed / bundle_id
    if several:
        raise UsageError(
            f"--sealed {sealed}: with several bundles it must hold one sub-directory per bundle "
            f"id; {bundle_id!r} is missing"
        )
    return sealed


def load_for_run(paths: list[Path], sealed: Path | None) -> list[Bundle]:
    """Load and verify every bundle (public files and sealed commitments) before any run.
    A path may also be a directory of bundles."""
    paths = [found for path in paths for found in suite_bundles(path)]
    bundles = []
    seen: dict[str, Path] = {}
    for path in paths:
        bundle = load_bundle(path)
        if bundle.spec.id in seen:
            raise UsageError(
                f"bundle id {bundle.spec.id!r} given twice ({seen[bundle.spec.id]} and {path})"
            )
        seen[bundle.spec.id] = path
        sealed_dir = _sealed_dir_for(path, bundle.spec.id, sealed, len(paths) > 1)
        _check_sealed(bundle, sealed_dir, given=sealed is not None)
        for fold in bundle.folds:
            _check_readable_by_container(fold.train_dir)
        bundles.append(dataclasses.replace(bundle, sealed_dir=sealed_dir))
    return bundles


def _check_sealed(bundle: Bundle, sealed_dir: Path, *, given: bool) -> None:
    """The sealed labels are there and are this bundle's (one line saying what to do)."""
    where = "" if given else " (the bundle's own sealed/)"
    folds = bundle.spec.folds
    missing = [f for f in folds if not (sealed_dir / f / "y.csv").is_file()]
    if len(missing) == len(folds) or not (sealed_dir / manifest.SALT_NAME).is_file():
        raise BundleError(
            f"sealed labels of bundle {bundle.spec.id!r} not found in {sealed_dir}{where}: "
            "pass --sealed DIR, the directory holding <fold>/y.csv and SALT"
        )
    if missing:
        raise BundleError(f"{sealed_dir}: sealed labels missing for folds {missing}")
    try:
        problems = manifest.verify_sealed(sealed_dir, bundle.manifest, folds)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{sealed_dir}: cannot check sealed labels: {exc}") from exc
    if problems:
        raise BundleError(
            f"{sealed_dir}: the sealed labels of {len(problems)} of {len(folds)} folds do not "
            f"match bundle {bundle.spec.id!r}'s manifest (labels of another bundle, or changed "
            "since the manifest was written); pass this bundle's own sealed labels with "
            "--sealed DIR"
        )


def _check_readable_by_container(train_dir: Path) -> None:
    """The submission runs as an unprivileged user: its train files must be world-readable,
    or it would fail in a way that looks like its own fault."""
    for path in [train_dir, *train_dir.iterdir()]:
        mode = path.stat().st_mode
        needed = stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if mode & needed != needed:
            raise BundleError(
                f"{path}: not readable by the container's user (mode {stat.filemode(mode)}); "
                f"run: chmod -R o+rX {train_dir}"
            )


@dataclass(frozen=True)
class BundlePlan:
    """One bundle of a run, with everything decided before its folds start."""

    bundle: Bundle
    applied: AppliedLimits
    image: ImageInfo
    policy: LogPolicy
    team: str
    isolated: bool = True
    probes: ProbePlan | None = None
    """The robustness probes its folds run after the clean predict (None: none)."""
    runtime: str | None = "runc"
    """The container runtime its folds run under (None: a local process)."""

    @property
    def key(self) -> str:
        return result_key(self.image.id, self.bundle.spec.id, self.bundle.hash, self.team)

    @property
    def fingerprint(self) -> str:
        """A run without probes under runc keeps the fingerprint it always had; with probes
        or another runtime the stored folds are reused only by a run asking for the same."""
        plain = resume.fingerprint(
            self.image.id,
            self.bundle.hash,
            self.applied,
            self.policy.sealed,
            self.policy.tail_lines,
        )
        extra: dict[str, Any] = {}
        if self.probes is not None:
            extra["probes"] = self.probes.as_dict()
        if self.runtime not in (None, "runc"):  # runc (and no runtime) keep the old one
            extra["runtime"] = self.runtime
        if not extra:
            return plain
        material = json.dumps({"fold": plain, **extra}, sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()

    def job(self, fold_id: str, run_id: str) -> FoldJob:
        """What evaluating one of its folds needs."""
        fold = self.bundle.fold(fold_id)
        return FoldJob(
            self.bundle,
            fold,
            self.image,
            self.applied,
            run_id,
            self.policy,
            self.probes,
            self.runtime,
        )
