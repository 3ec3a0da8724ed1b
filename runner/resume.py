"""Fold records: each finished fold is stored at once, so a killed run loses at most the
folds that were running, and a re-run of the same image on the same bundle under the
same settings reuses them (``--force`` re-runs everything).

A record is reused only when its fingerprint matches (image id, bundle hash, applied
limits, log policy, protocol version) and its status is the submission's own outcome:
``infra_error`` folds always run again.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, ValidationError

from runner import limits
from runner.results.model import AppliedLimits, FoldResult
from runner.verdict import Status


class FoldRecord(BaseModel):
    """What a finished fold leaves in the store (``folds/<fold>.json``)."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str
    run_id: str
    result: FoldResult
    """What the submission's result shows (sealed: the public view)."""
    private: FoldResult | None = None
    """Sealed runs only: the exact result (full reason, exact figures), for organizers."""
    scored_truth: list[int] | None = None
    scored_score: list[float] | None = None


def record_name(fold_id: str) -> str:
    return f"folds/{fold_id}.json"


def fingerprint(
    image_id: str, bundle_hash: str, applied: AppliedLimits, sealed: bool, tail_lines: int
) -> str:
    """Everything that, if changed, makes an earlier fold result not this run's."""
    material = {
        "image": image_id,
        "bundle": bundle_hash,
        "limits": applied.model_dump(mode="json"),
        "sealed": sealed,
        "tail_lines": tail_lines,
        "protocol": limits.PROTOCOL_VERSION,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def reusable(raw: bytes | None, expected_fingerprint: str) -> FoldRecord | None:
    """The stored record if it may stand in for running the fold again, else None."""
    if raw is None:
        return None
    try:
        record = FoldRecord.model_validate_json(raw)
    except ValidationError:
        return None  # unreadable or from another version: run the fold again
    if record.fingerprint != expected_fingerprint or record.result.status is Status.INFRA_ERROR:
        return None
    return record
