"""Re-running a stored result (``airlock reproduce``): is everything it needs still at hand,
does every fold give the same predictions and scores, and how much do repeated runs spread.

A result names its image by content id and its bundle by hash; both must be found again
(the image on the engine, the bundle where the result ran it or where ``--bundle`` says,
with sealed labels that still match the bundle's manifest). The re-runs use the result's
own limits and log policy, every fold run afresh (``force``), into a scratch store, never
the store the result came from. The comparison itself is pure: see :func:`compare_fold`
and :func:`spread`.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner.bundle.load import load_bundle
from runner.errors import BundleError, UsageError
from runner.plan import ResourceRequest, TimeRequest, load_for_run
from runner.results.base import RESULT_NAME
from runner.results.model import FoldResult, SubmissionResult
from runner.results.store import ResultStore, result_key, store_at
from runner.run import RunListener, RunRequest, SuiteRunner
from runner.sandbox.base import SandboxProvider
from runner.untrusted import stays_inside

Verdict = Literal["identical", "within tolerance", "different"]
_ORDER: tuple[Verdict, ...] = ("identical", "within tolerance", "different")
Reader = Callable[[str], bytes | None]


@dataclass(frozen=True)
class Source:
    """A stored result, where it was found, and how to read the files stored beside it."""

    result: SubmissionResult
    where: str
    read: Reader


def _store_reader(store: ResultStore, key: str) -> Reader:
    def read(name: str) -> bytes | None:
        return store.get_artifact(key, name) if stays_inside(name) else None

    return read


def _file_reader(folder: Path) -> Reader:
    def read(name: str) -> bytes | None:
        path = folder / name
        return path.read_bytes() if stays_inside(name) and path.is_file() else None

    return read


def locate(target: str) -> Source:
    """``target`` is a result.json file (or the directory holding it), or a store URI
    followed by the result's key: ``s3://bucket/prefix/<submission>/<bundle>``."""
    if "://" in target:
        uri = target.removesuffix(RESULT_NAME).rstrip("/")
        if uri.count("/") < 4:
            raise UsageError(
                f"{target}: give the store and the result's key, e.g. "
                "s3://bucket/prefix/<team>.<hash>@<image>/<bundle>@<hash>"
            )
        root, submission, bundle = uri.rsplit("/", 2)
        store, key = store_at(root), f"{submission}/{bundle}"
        raw, read = store.get_artifact(key, RESULT_NAME), _store_reader(store, key)
    else:
        path = Path(target)
        path = path / RESULT_NAME if path.is_dir() else path
        raw = path.read_bytes() if path.is_file() else None
        read = _file_reader(path.parent)
    if raw is None:
        raise UsageError(
            f"no result at {target}: give a result.json (or its directory), or the store URI "
            "and key s3://bucket/prefix/<submission>/<bundle>"
        )
    try:
        result = SubmissionResult.model_validate_json(raw)
    except ValueError as exc:
        raise UsageError(f"{target}: not an Airlock result ({str(exc).splitlines()[0]})") from None
    return Source(result, target, read)


def _image_problem(provider: SandboxProvider, result: SubmissionResult) -> str | None:
    provenance = result.provenance
    if provider.has_image(provenance.image_id):
        return None
    how = (
        f"pull it by digest (docker pull {provenance.repo_digests[0]})"
        if provenance.repo_digests
        else f"load it (docker load -i ARCHIVE) or rebuild {provenance.image_ref} to the same id"
    )
    return f"image {provenance.image_id[:19]} ({provenance.image_ref}) is not on this engine: {how}"


def _bundle_problem(result: SubmissionResult, bundle: Path) -> str | None:
    provenance = result.provenance
    wanted = f"bundle {provenance.bundle_id} ({provenance.bundle_hash[:19]})"
    if not (bundle / "bundle.yaml").is_file():
        return (
            f"{wanted} is not at {bundle}: give --bundle PATH to a copy of it (and --sealed "
            "DIR when its sealed labels are kept apart)"
        )
    try:
        found = load_bundle(bundle)
    except BundleError as exc:
        return f"{wanted}: {bundle} does not load ({exc}); give --bundle the bundle it ran on"
    if found.hash != provenance.bundle_hash or found.spec.id != provenance.bundle_id:
        return (
            f"{bundle} is bundle {found.spec.id} ({found.hash[:19]}), but the result ran "
            f"{wanted}: give --bundle the bundle it ran on"
        )
    return None


def check_at_hand(
    provider: SandboxProvider, source: Source, bundle: Path | None, sealed: Path | None
) -> Path:
    """The bundle to re-run, once the image, the bundle and its sealed labels are all
    there; else one UsageError naming what is missing and how to get it."""
    provenance = source.result.provenance
    if provenance.isolation != "container":
        raise UsageError(
            f"{source.where} is a local --command run (isolation: none): there is no image "
            "to re-run; reproduce a result of `airlock run --image`"
        )
    path = bundle or Path(provenance.bundle_path)
    found = [_image_problem(provider, source.result), _bundle_problem(source.result, path)]
    problems = [problem for problem in found if problem]
    if problems:
        raise UsageError(f"cannot reproduce {source.where}: {'; '.join(problems)}")
    try:
        load_for_run([path], sealed)  # the sealed labels must still match the manifest
    except BundleError as exc:
        raise BundleError(f"cannot reproduce {source.where}: {exc}") from None
    return path


def request_for(result: SubmissionResult, bundle: Path, sealed: Path | None) -> RunRequest:
    """The run that made ``result``: same image (by id), team, limits and log policy."""
    provenance, applied = result.provenance, result.provenance.limits
    spec_limits = load_bundle(bundle, verify=False).spec.time_limits
    times = TimeRequest(
        handshake=_lowered(applied.handshake_seconds, spec_limits.handshake_seconds),
        fit=_lowered(applied.fit_seconds, spec_limits.fit_seconds),
        predict=_lowered(applied.predict_seconds, spec_limits.predict_seconds),
    )
    return RunRequest(
        image=provenance.image_id,
        bundles=[bundle],
        sealed=sealed,
        resources=ResourceRequest(str(applied.memory_bytes), applied.cpus, applied.gpus),
        team=provenance.team,
        sealed_mode=provenance.log_policy == "sealed",
        force=True,
        log_lines=provenance.participant_log_lines,
        times=times,
    )


def _lowered(applied: float, allowed: float) -> float | None:
    return None if applied >= allowed else applied


@dataclass(frozen=True)
class Rerun:
    """One re-run's result and its predictions, read back from the scratch store."""

    result: SubmissionResult
    read: Reader


def rerun(
    provider: SandboxProvider, store: ResultStore, request: RunRequest, listener: RunListener
) -> Rerun:
    """Run the request once (every fold afresh) and read its result back."""
    (stored,) = SuiteRunner(provider, store, listener).run(request)
    provenance = stored.result.provenance
    key = result_key(
        provenance.image_id, provenance.bundle_id, provenance.bundle_hash, provenance.team
    )
    return Rerun(stored.result, lambda name: store.get_artifact(key, name))


# --- comparison (pure) ------------------------------------------------------------------------


def _worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=_ORDER.index, default="identical")


def compare_values(a: float | None, b: float | None, tolerance: float) -> Verdict:
    """Two scores (None: undefined): equal, within ``tolerance``, or different."""
    if a is None or b is None:
        return "identical" if a is None and b is None else "different"
    if a == b or (math.isnan(a) and math.isnan(b)):
        return "identical"
    return "within tolerance" if abs(a - b) <= tolerance else "different"


def compare_predictions(
    a: bytes | None, b: bytes | None, tolerance: float
) -> tuple[Verdict, float | None]:
    """Two prediction files, byte for byte, else cell by cell: same header and ids, text
    cells equal, numbers within ``tolerance``. Also the largest numeric difference."""
    if a == b:
        return "identical", 0.0 if a is not None else None
    if a is None or b is None:
        return "different", None
    rows_a = list(csv.reader(io.StringIO(a.decode(errors="replace"))))
    rows_b = list(csv.reader(io.StringIO(b.decode(errors="replace"))))
    if len(rows_a) != len(rows_b) or (rows_a and rows_a[0] != rows_b[0]):
        return "different", None
    largest = 0.0
    for row_a, row_b in zip(rows_a[1:], rows_b[1:], strict=True):
        if len(row_a) != len(row_b) or row_a[:1] != row_b[:1]:
            return "different", None
        for x, y in zip(row_a[1:], row_b[1:], strict=True):
            if x == y:
                continue
            try:
                largest = max(largest, abs(float(x) - float(y)))
            except ValueError:
                return "different", None
    return ("within tolerance" if largest <= tolerance else "different"), largest


@dataclass(frozen=True)
class FoldComparison:
    fold_id: str
    status: tuple[str, str]
    """(original, re-run)."""
    scores: dict[str, tuple[float | None, float | None, Verdict]]
    """metric -> (original, re-run, verdict)."""
    predictions: Verdict
    largest_prediction_difference: float | None
    verdict: Verdict


def compare_fold(
    original: FoldResult,
    again: FoldResult,
    predictions: tuple[bytes | None, bytes | None],
    tolerance: float,
    primary: tuple[str, ...] = (),
) -> FoldComparison:
    """One fold of the original against its re-run: status, every score (``primary``
    first), predictions."""
    names = list(dict.fromkeys([*primary, *original.metrics, *again.metrics]))
    scores = {
        name: (
            original.metrics.get(name),
            again.metrics.get(name),
            compare_values(original.metrics.get(name), again.metrics.get(name), tolerance),
        )
        for name in names
    }
    shown, largest = compare_predictions(*predictions, tolerance)
    status: Verdict = "identical" if original.status == again.status else "different"
    return FoldComparison(
        fold_id=original.fold_id,
        status=(str(original.status), str(again.status)),
        scores=scores,
        predictions=shown,
        largest_prediction_difference=largest,
        verdict=_worst([status, shown, *(v for _, _, v in scores.values())]),
    )


def compare(original: Source, again: Rerun, tolerance: float) -> list[FoldComparison]:
    """Every fold of the original result against the re-run (a fold it lacks differs)."""
    folds = {f.fold_id: f for f in again.result.folds}
    found = []
    for fold in original.result.folds:
        other = folds.get(fold.fold_id)
        if other is None:
            other = fold.model_copy(update={"status": "infra_error", "metrics": {}})
        files = (
            original.read(fold.predictions_file) if fold.predictions_file else None,
            again.read(other.predictions_file) if other.predictions_file else None,
        )
        primary = (original.result.primary_metric,)
        found.append(compare_fold(fold, other, files, tolerance, primary))
    return found


def settings_changed(original: SubmissionResult, again: SubmissionResult) -> list[str]:
    """The limits and log settings the re-run applied differently (normally none)."""
    before, after = original.provenance, again.provenance
    changed = [
        f"{name} {value} -> {getattr(after.limits, name)}"
        for name, value in before.limits.model_dump().items()
        if getattr(after.limits, name) != value
    ]
    for name in ("log_policy", "participant_log_lines", "bundle_hash", "image_id"):
        if getattr(before, name) != getattr(after, name):
            changed.append(f"{name} {getattr(before, name)} -> {getattr(after, name)}")
    return changed


def verdict_of(comparisons: list[FoldComparison]) -> Verdict:
    return _worst([c.verdict for c in comparisons])


@dataclass(frozen=True)
class Spread:
    """One score of one fold over repeated runs."""

    fold_id: str
    metric: str
    original: float | None
    low: float | None
    high: float | None
    sd: float | None
    """Population sd (ddof = 0) over the runs where the score is defined."""

    @property
    def deterministic(self) -> bool:
        """Every run gave the same value."""
        return self.low is not None and self.low == self.high


def spread(original: SubmissionResult, runs: list[SubmissionResult]) -> list[Spread]:
    """Per fold and score: the original and the min, max and sd over ``runs``."""
    found = []
    for fold in original.folds:
        again = [{f.fold_id: f for f in run.folds}.get(fold.fold_id) for run in runs]
        for metric, value in fold.metrics.items():
            seen = [g.metrics.get(metric) for g in again if g is not None]
            values = [v for v in seen if v is not None]
            if len(values) < len(runs):  # undefined in some run: as far apart as it gets
                found.append(Spread(fold.fold_id, metric, value, None, None, None))
                continue
            sd = statistics.pstdev(values)  # exact: 0 for equal values
            found.append(Spread(fold.fold_id, metric, value, min(values), max(values), sd))
    return found
