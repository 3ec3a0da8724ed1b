"""Which robustness probes a run asks for, and at which levels: the vocabulary that
``bundle.yaml`` (its optional ``probes:`` field), ``airlock run --probes`` and the runner
share. A leaf module (it imports nothing from ``runner``), so the bundle schema can name the
levels without importing the probes themselves.

Probes are off unless a run asks for them. A bundle may set the levels of each kind and the
seed; the command line picks the kinds (and may override their levels). What a run resolves
to is a :class:`ProbePlan`: a seed and an ordered list of series, one per (kind, level),
recorded with every fold's robustness and in the fold's reuse fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["dropout", "noise", "shift", "permutation"]
KINDS: Final[tuple[Kind, ...]] = ("dropout", "noise", "shift", "permutation")
SCORED_KINDS: Final[tuple[Kind, ...]] = ("dropout", "noise", "shift")
"""The kinds whose rAUC enters the robustness score; permutation is a sanity check."""
MAX_LEVELS: Final = 8
"""Most levels of one kind: every level costs one more predict pass of the test set."""

DEFAULT_LEVELS: Final[dict[Kind, tuple[float, ...]]] = {
    "dropout": (0.1, 0.25, 0.5),
    "noise": (0.25, 0.5, 1.0, 2.0),
    "shift": (0.1, 0.25, 0.5),
    "permutation": (1.0,),
}
"""dropout: share of a sample's features set missing; noise: noise sd in units of each
feature's training sd (power SNR = 1 / level^2); shift: strength of the per-sample gain and
offset; permutation: one level, the whole table (docs/robustness.md)."""

_RANGES: Final[dict[Kind, tuple[float, float]]] = {
    "dropout": (0.0, 1.0),
    "noise": (0.0, 100.0),
    "shift": (0.0, 10.0),
    "permutation": (1.0, 1.0),
}


def check_levels(kind: Kind, levels: tuple[float, ...]) -> tuple[float, ...]:
    """``levels`` sorted, each within the kind's range (above its low end, at most its high
    end), at most :data:`MAX_LEVELS` of them, none twice.

    Raises:
        ValueError: naming the kind and what is wrong.
    """
    low, high = _RANGES[kind]
    if not levels or len(levels) > MAX_LEVELS:
        raise ValueError(f"{kind}: give 1 to {MAX_LEVELS} levels, got {len(levels)}")
    if len(set(levels)) != len(levels):
        raise ValueError(f"{kind}: a level is given twice: {list(levels)}")
    for level in levels:
        ok = level == high if low == high else low < level <= high
        if not ok:
            wanted = f"exactly {high:g}" if low == high else f"above {low:g} and at most {high:g}"
            raise ValueError(f"{kind}: level {level:g} must be {wanted}")
    return tuple(sorted(float(level) for level in levels))


Levels = Annotated[list[float], Field(min_length=1, max_length=MAX_LEVELS)]


class ProbeLevels(BaseModel):
    """``bundle.yaml``'s ``probes:``: the levels of each kind and the seed, used when a run
    asks for probes (``airlock run --probes``); unset kinds keep their defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, ge=0, description="Seed of every perturbation.")
    dropout: Levels | None = Field(
        default=None, description="Shares of each test sample's features set missing."
    )
    noise: Levels | None = Field(
        default=None, description="Gaussian noise sd, in units of each feature's training sd."
    )
    shift: Levels | None = Field(
        default=None, description="Strengths of the per-sample multiplicative and additive shift."
    )

    @model_validator(mode="after")
    def _levels_in_range(self) -> Self:
        for kind in SCORED_KINDS:
            levels = getattr(self, kind)
            if levels is not None:
                check_levels(kind, tuple(levels))
        return self

    def levels(self, kind: Kind) -> tuple[float, ...]:
        given = getattr(self, kind, None) if kind != "permutation" else None
        return check_levels(kind, tuple(given)) if given is not None else DEFAULT_LEVELS[kind]


@dataclass(frozen=True)
class ProbeRequest:
    """What ``airlock run --probes`` asked for: the kinds, levels given on the command line
    (others come from the bundle or the defaults) and an optional seed."""

    kinds: tuple[Kind, ...]
    levels: tuple[tuple[Kind, tuple[float, ...]], ...] = ()
    seed: int | None = None


def series_name(kind: str, level: float) -> str:
    """The name of one series, as results and the ``probe`` field of its messages show it."""
    return f"{kind}@{level:g}"


@dataclass(frozen=True)
class ProbePlan:
    """The probes a bundle's folds run: the seed and every (kind, level), in order."""

    seed: int
    series: tuple[tuple[Kind, float], ...]

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return tuple(dict.fromkeys(kind for kind, _ in self.series))

    def levels(self, kind: str) -> list[float]:
        return [level for k, level in self.series if k == kind]

    def as_dict(self) -> dict[str, object]:
        """For fingerprints: everything that makes two probe runs differ."""
        return {"seed": self.seed, "series": [series_name(k, v) for k, v in self.series]}


def resolve(request: ProbeRequest | None, bundle: ProbeLevels | None) -> ProbePlan | None:
    """The plan for one bundle: the requested kinds, each at the command line's levels, else
    the bundle's, else the defaults; None when no probes were asked for."""
    if request is None or not request.kinds:
        return None
    bundle = bundle or ProbeLevels()
    given = dict(request.levels)
    series: list[tuple[Kind, float]] = []
    for kind in KINDS:
        if kind in request.kinds:
            levels = check_levels(kind, given[kind]) if kind in given else bundle.levels(kind)
            series += [(kind, level) for level in levels]
    seed = request.seed if request.seed is not None else bundle.seed
    return ProbePlan(seed, tuple(series))


def parse_option(text: str) -> ProbeRequest:
    """``--probes``: kinds separated by commas, each optionally with its levels after ``=``
    separated by colons (``dropout,noise=0.5:1:2``); ``all`` names every kind.

    Raises:
        ValueError: one line naming what is wrong and what is accepted.
    """
    kinds: list[Kind] = []
    levels: list[tuple[Kind, tuple[float, ...]]] = []
    for part in (p.strip() for p in text.split(",")):
        name, _, given = part.partition("=")
        if name == "all" and not given:
            kinds += [k for k in KINDS if k not in kinds]
            continue
        kind = next((k for k in KINDS if k == name), None)
        if kind is None:
            raise ValueError(f"unknown probe {name!r}; use {', '.join(KINDS)} or all")
        if kind not in kinds:
            kinds.append(kind)
        if given:
            try:
                values = tuple(float(v) for v in given.split(":"))
            except ValueError:
                raise ValueError(f"{kind}: levels must be numbers separated by ':'") from None
            levels.append((kind, check_levels(kind, values)))
    return ProbeRequest(tuple(kinds), tuple(levels))
