"""``competition.yaml``: what a hosted competition is. ``airlock schema competition`` exports
the JSON Schema of :class:`Competition`; a bad file is reported one line per problem with
the field's path."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from runner.errors import UsageError
from runner.probe_settings import ProbeRequest, parse_option

_ID = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhaseLimits(_Strict):
    """Lower limits than the bundles' for this phase (never higher: runs refuse more)."""

    memory: str | None = None
    cpus: Annotated[float, Field(gt=0)] | None = None
    fit_seconds: Annotated[float, Field(gt=0)] | None = None
    predict_seconds: Annotated[float, Field(gt=0)] | None = None


class Quota(_Strict):
    """How much a team may submit to a phase."""

    per_day: Annotated[int, Field(ge=1)] = Field(
        default=5, description="Submissions per team per UTC day that count."
    )
    in_flight: Annotated[int, Field(ge=1)] = Field(
        default=2, description="Submissions per team queued or running at once."
    )
    count_failures: bool = Field(
        default=True,
        description="Whether a submission that fails by its own fault (timeout, oom, "
        "crashed, protocol_error, invalid_predictions) counts against the day's quota. "
        "Infrastructure errors never count.",
    )


class Phase(_Strict):
    """One phase: a suite of bundles scored against sealed labels in a time window."""

    name: Annotated[str, Field(pattern=_ID)]
    bundles: Path = Field(description="A bundle directory, or a directory of bundles.")
    sealed: Path | None = Field(
        default=None,
        description="The sealed labels (DIR/<bundle id>/<fold>/y.csv); default: each "
        "bundle's own sealed/.",
    )
    opens: datetime
    closes: datetime
    scores: Literal["public", "hidden"] = Field(
        default="public",
        description="hidden: teams see statuses only, and the leaderboard shows nothing "
        "until the organizer reveals the phase.",
    )
    ladder: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        default=None,
        description="The Ladder's step (e.g. 0.01): a team's public score changes only when "
        "a submission beats it by more than the step, rounded to the step; teams see no exact "
        "score of their own until the organizer reveals the phase (docs/leaderboards.md).",
    )
    limits: PhaseLimits = Field(default_factory=PhaseLimits)
    quota: Quota = Field(default_factory=Quota)
    probes: str | None = Field(
        default=None,
        description="Robustness probes after each fold's clean predict, written as "
        "`airlock run --probes` takes them ('all', 'dropout,noise=0.5:1:2'); the phase's "
        "board then shows robustness (never under the Ladder). Default: none.",
    )

    @field_validator("probes")
    @classmethod
    def _probes(cls, value: str | None) -> str | None:
        if value is not None:
            parse_option(value)  # its ValueError is already one line
        return value

    def probe_request(self) -> ProbeRequest | None:
        return parse_option(self.probes) if self.probes is not None else None

    @field_validator("opens", "closes")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone (e.g. 2026-12-01T00:00:00Z): times are UTC")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _window(self) -> Phase:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self

    def is_open(self, now: datetime) -> bool:
        return self.opens <= now < self.closes


class LogPolicy(_Strict):
    """What participants see of their own output: sealed results always; the last stderr
    lines only of submissions whose logs the organizer releases."""

    released_lines: Annotated[int, Field(ge=0, le=200)] = Field(
        default=20, description="stderr lines per failed fold shown once logs are released."
    )


class Competition(_Strict):
    """A competition hosted by ``airlock serve``."""

    id: Annotated[str, Field(pattern=_ID)]
    title: str
    phases: Annotated[list[Phase], Field(min_length=1)]
    results: str = Field(
        default="results", description="Result store: a directory or s3://bucket/prefix."
    )
    max_image_bytes: Annotated[int, Field(ge=1)] = Field(
        default=8 * 2**30, description="Largest image archive a team may upload."
    )
    logs: LogPolicy = Field(default_factory=LogPolicy)

    @model_validator(mode="after")
    def _unique_phases(self) -> Competition:
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        return self

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def current_phase(self, now: datetime) -> Phase | None:
        """The open phase (the latest one that opened, when several are open)."""
        open_now = [p for p in self.phases if p.is_open(now)]
        return max(open_now, key=lambda p: p.opens) if open_now else None


def load_competition(path: Path) -> Competition:
    """Read and validate ``competition.yaml``; relative paths are taken from its folder.

    Raises:
        UsageError: every problem, one line each, naming the field's path.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a mapping of fields at the top level")
    try:
        competition = Competition.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(map(str, err['loc'])) or 'top level'}: {_message(err['msg'])}"
            for err in exc.errors()
        ]
        raise UsageError("\n".join(lines)) from None
    base = path.resolve().parent
    for phase in competition.phases:
        phase.bundles = (base / phase.bundles).resolve()
        if phase.sealed is not None:
            phase.sealed = (base / phase.sealed).resolve()
    if "://" not in competition.results:
        competition.results = str((base / competition.results).resolve())
    return competition


def _message(text: str) -> str:
    return re.sub(r"^Value error, ", "", text)
