"""What a sealed result may say about a fold: every field of a fold result, decided once.

Sealed results go to participants. A submission controls much of what a fold result could
hold (its exit code, how long each phase takes, how much memory it uses, how much it
writes), and every exact figure it controls is a covert channel out of the sealed data. So
the public fold result keeps runner-chosen facts as they are, keeps the scores (the point
of the evaluation; their capacity is stated in docs/security.md), turns every
submission-controlled quantity into a coarse bucket, and drops the rest. The exact fold
result is stored beside it for organizers only (``folds/<fold>.json``, ``private``).

:data:`FOLD_FIELDS` names the rule of every field; a test fails when a field is added to
:class:`~runner.results.model.FoldResult` without one.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Final, Literal

from runner.results.model import FoldResources, FoldResult, FoldRobustness, PhaseUsage

Rule = Literal["keep", "coarse", "drop", "template"]

FOLD_FIELDS: Final[dict[str, Rule]] = {
    "fold_id": "keep",  # the bundle's
    "status": "keep",  # one of seven: part of the stated residual capacity
    "reason": "template",  # a fixed public template (runner/reasons.py)
    "phase": "keep",  # one of five phase names
    "n_test": "keep",  # the bundle's
    "metrics": "keep",  # the scores: the evaluation's purpose (capacity in docs)
    "metric_notes": "keep",  # runner text: why a metric is undefined
    "details": "keep",  # per-class F1, confusion matrix, per-label AUROC (scores too)
    "statistics": "keep",  # bootstrap CI and permutation p of the scores
    "resources": "coarse",  # 1-2-5 buckets of a few totals, see seal_resources
    "started_at": "coarse",  # to the minute
    "finished_at": "coarse",  # to the minute
    "queued_at": "keep",  # the runner's clock when the job was enqueued
    "submission_name": "drop",  # its own text
    "notes": "keep",  # runner text (e.g. "did not exit within 5 s of shutdown; killed")
    "log_tail": "keep",  # empty unless the organizer releases lines (--log-lines)
    "log_bytes": "drop",  # how much it wrote to stderr is its choice
    "predictions_file": "keep",  # a store path the runner chose
    "log_file": "drop",  # present only when it wrote stderr: one more bit, and organizers'
    "reused_from": "keep",  # a run id the runner chose
    "robustness": "template",  # probe scores (kept, like metrics), reasons as templates
}

SEALED_PHASES: Final = ("fit", "predict", "probe")
"""The phases whose wall time a sealed result shows (bucketed); others are left out (the
fold's total wall time, bucketed too, covers start-up and handshake)."""


def one_two_five(value: float | None) -> float | None:
    """``value`` rounded, on a log scale, to the nearest of 1, 2, 5 x 10^k (0 stays 0).

    About 3 values per decade: a figure so rounded carries at most log2 of the number of
    such values in its range (4.1 bits between 0.01 and 1000).
    """
    if value is None or value <= 0:
        return value
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    best = min(candidates, key=lambda c: abs(math.log(c) - math.log(value)))
    return float(f"{best:.12g}")


def _bucket_bytes(value: int | None) -> int | None:
    mib = one_two_five(value / 2**20) if value else None
    return None if mib is None else round(mib * 2**20)


def exit_class(code: int | None) -> int | None:
    """0 (clean), 1 (any error exit) or 137 (killed by a signal): the code itself is the
    submission's choice."""
    if code is None or code == 0:
        return code
    return 137 if code > 128 else 1


def seal_resources(exact: FoldResources) -> FoldResources:
    """The few totals a board needs, each in a 1-2-5 bucket."""
    phases = {
        name: PhaseUsage(wall_seconds=one_two_five(usage.wall_seconds) or 0.0)
        for name, usage in exact.phases.items()
        if name in SEALED_PHASES
    }
    return FoldResources(
        phases=phases,
        wall_seconds=one_two_five(exact.wall_seconds) or 0.0,
        cpu_seconds=one_two_five(exact.cpu_seconds),
        peak_memory_bytes=_bucket_bytes(exact.peak_memory_bytes),
        exit_code=exit_class(exact.exit_code),
        oom_killed=exact.oom_killed,
        gpus=exact.gpus,
        runtime=exact.runtime,  # the organizer's choice, not the submission's
    )


def minute(moment: datetime) -> datetime:
    """A timestamp as a sealed result shows it: to the minute."""
    return moment.replace(second=0, microsecond=0)


def seal_fold(
    exact: FoldResult, public_reason: str, public_robustness: FoldRobustness | None = None
) -> FoldResult:
    """The participant's view of ``exact`` under the rules of :data:`FOLD_FIELDS`; the
    robustness shown is ``public_robustness``, its probes' reasons fixed templates (none
    when not given)."""
    update: dict[str, object] = {
        "reason": public_reason,
        "robustness": public_robustness,
        "resources": seal_resources(exact.resources),
        "started_at": minute(exact.started_at),
        "finished_at": minute(exact.finished_at),
    }
    update.update({name: None for name, rule in FOLD_FIELDS.items() if rule == "drop"})
    return exact.model_copy(update=update)
