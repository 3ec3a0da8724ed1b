"""What a board is made of (types only): entries, rows, boards, and the uncertainty figures
attached to them. Apart from :mod:`runner.leaderboard.ranking` so that the modules computing
intervals and public scores can use the types without importing the ranking itself."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from runner.errors import UsageError

Suite = Literal["spaceomicsbench", "genelab", "other"]
BoardKey = tuple[Suite, str]
"""(suite, variant): the variant of a benchmark board, empty for other bundles."""
BoardTask = tuple[str, str, str]
"""(bundle id, task label, metric shown)."""
SUITE_TITLES = {
    "spaceomicsbench": "SpaceOmicsBench v2.1",
    "genelab": "GeneLab benchmark",
    "other": "Other bundles",
}
COMPOSITE_LABELS = {
    "spaceomicsbench": "composite (normalized)",
    "genelab": "composite (mean AUROC)",
    "other": "composite (mean of primary metrics)",
}
TIER_RULE = (
    "Every task of the board counts: a submission with a task missing, failed or undefined "
    "ranks below every complete one (its composite, over the tasks it has, is marked "
    "incomplete), and one with nothing scored ranks last"
)
RESOURCE_RULE = (
    "fit s and predict s are the sums over tasks of the folds' fit and predict wall times; "
    "peak MiB is the largest fold's peak memory"
)
RULES = {
    "spaceomicsbench": "composite = mean over categories of the mean normalized score "
    "max(0, (s - r) / (1 - r)) of their tasks (E2, E3 excluded)",
    "genelab": "composite = mean over tasks of the mean fold AUROC",
    "other": "composite = mean over bundles of the primary metric's mean over folds",
}


@dataclass(frozen=True)
class Resampling:
    """How a board's uncertainty is computed: recorded on the board, so it can be redone."""

    resamples: int = 2000
    seed: int = 0
    alpha: float = 0.05
    """Level of the paired test that separates groups."""
    map_rows: int = 20
    """Rows (from the top) shown in the pairwise significance map."""

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise UsageError(f"--alpha {self.alpha:g} must be between 0 and 1, e.g. 0.05")
        if self.resamples < 1:
            raise UsageError(f"--resamples {self.resamples} must be at least 1, e.g. 2000")


DEFAULT_RESAMPLING = Resampling()


@dataclass(frozen=True)
class RowStats:
    """One row's rank distribution over the resamples, its group and its test vs the leader."""

    median_rank: float
    rank_low: int
    rank_high: int
    share_first: float
    group: int
    p_vs_leader: float | None


@dataclass(frozen=True)
class BoardStats:
    """What the board's uncertainty figures rest on, and the pairwise significance map."""

    resampling: Resampling
    method: Literal["sign-flip", "bootstrap"]
    """The paired test used: exact sign-flip with few units, else a paired bootstrap."""
    units: int
    """Folds the board averages (over all its tasks)."""
    map_teams: list[str]
    map_p: list[list[float | None]]
    """p of the paired test between map rows i and j (None on the diagonal or no shared unit)."""


@dataclass
class Entry:
    """One submission on one task."""

    bundle_id: str
    task: str
    metric: str
    status: Literal["scored", "failed", "undefined", "missing"]
    score: float | None
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None
    reason: str = ""
    perm_p: float | None = None
    go_nogo: bool | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    peak_memory_bytes: int | None = None
    folds: dict[str, float] = field(default_factory=dict)
    """Per-fold values whose mean gives ``score``: signed so that higher is better, or raw
    when ``reference`` normalizes the mean (SpaceOmicsBench); empty unless scored."""
    reference: float | None = None
    """SpaceOmicsBench random reference r: score = max(0, (mean - r) / (1 - r))."""


@dataclass
class Row:
    team: str
    image_ref: str
    image_id: str
    finished_at: datetime
    entries: dict[str, Entry] = field(default_factory=dict)
    composite: float | None = None
    categories: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    submissions: int = 1
    """How many submissions (images) the team has on this board; the row shows one."""
    stats: RowStats | None = None
    runtimes_by_task: dict[str, set[str]] = field(default_factory=dict)
    """Per bundle, the container runtimes its shown result's folds ran under (runc, runsc);
    fit and predict times under gVisor are not comparable with runc's, so boards say which."""

    @property
    def runtimes(self) -> set[str]:
        return set().union(*self.runtimes_by_task.values())

    @property
    def runtime_note(self) -> str:
        """ "" when every fold ran under runc, else e.g. "gVisor" or "runc + gVisor"."""
        if self.runtimes <= {"runc"}:
            return ""
        names = {"runsc": "gVisor"}
        return " + ".join(names.get(r, r) for r in sorted(self.runtimes))

    @property
    def tier(self) -> int:
        statuses = {e.status for e in self.entries.values()}
        if self.composite is None or statuses == {"failed"} or "scored" not in statuses:
            return 2
        return 0 if statuses == {"scored"} else 1

    def resource(self, attribute: str) -> float | None:
        values = [
            getattr(e, attribute)
            for e in self.entries.values()
            if getattr(e, attribute) is not None
        ]
        return (
            float(sum(values))
            if attribute != "peak_memory_bytes"
            else (float(max(values)) if values else None)
        )


def sort_key(row: Row) -> tuple[int, float]:
    """Tier first, then the composite, best first."""
    composite = (
        row.composite if row.composite is not None and not math.isnan(row.composite) else -math.inf
    )
    return (row.tier, -composite)


@dataclass
class Board:
    suite: Suite
    title: str
    rule: str
    tasks: list[BoardTask]
    """Every task of the board, declared or seen."""
    rows: list[Row]
    composite_label: str = "composite"
    stats: BoardStats | None = None
    ladder: float | None = None
    """The Ladder's step when the board shows public (laddered) scores."""

    @property
    def caption(self) -> str:
        """What the page says under the board's title: how it ranks, what the numbers are."""
        text = f"Ranking: {self.rule}. {TIER_RULE}. {RESOURCE_RULE}."
        if self.ladder is not None:
            text += (
                f" Public scores under the Ladder (step {self.ladder:g}): a team's composite "
                "changes only when a submission beats its public composite by more than the "
                "step, and is shown rounded to the step; the exact scores stay in the store, "
                "and rank intervals and tests (functions of the exact scores) are left out."
            )
        if self.stats is not None:
            text += " " + uncertainty_caption(self.stats)
        return text


def uncertainty_caption(stats: BoardStats) -> str:
    """The board's uncertainty rule in one paragraph, with its seed and resample count."""
    sampling = stats.resampling
    test = (
        f"an exact sign-flip test (all 2^{stats.units} swaps of the {stats.units} folds)"
        if stats.method == "sign-flip"
        else f"a paired bootstrap of the difference ({sampling.resamples} resamples of the "
        "folds within each task)"
    )
    return (
        f"Rank intervals: {sampling.resamples} bootstrap resamples of the tasks, then of the "
        f"folds within each task (seed {sampling.seed}): median rank, 95% interval and the "
        f"share of resamples ranked first. Groups: {test} of each row against its group's "
        f"leader; rows it cannot separate from the leader (p \u2265 {sampling.alpha:g}) share "
        "its group, and so do the rows above them; the next row leads the next group. Groups "
        "never span tiers."
    )


@dataclass(frozen=True)
class DeclaredTask:
    """A task a board must show, whether or not anyone ran it."""

    suite: Suite
    variant: str
    bundle_id: str
    task: str
    metric: str
