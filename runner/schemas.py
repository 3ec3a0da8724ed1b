"""JSON Schemas exported from the models (the models are the single source of truth)."""

from __future__ import annotations

from typing import Any


def schema_for(name: str) -> dict[str, Any]:
    """Schema of ``result``, ``protocol``, ``bundle`` or ``competition``."""
    if name == "result":
        from runner.results.model import SubmissionResult

        return SubmissionResult.model_json_schema(by_alias=True)
    if name == "protocol":
        from runner.protocol.messages import json_schemas

        return json_schemas()
    if name == "bundle":
        from runner.bundle.spec import BundleSpec

        return BundleSpec.model_json_schema()
    if name == "competition":
        from runner.competition.config import Competition

        return Competition.model_json_schema()
    raise ValueError(f"unknown schema {name!r}")


SCHEMA_NAMES = ("result", "protocol", "bundle", "competition")
