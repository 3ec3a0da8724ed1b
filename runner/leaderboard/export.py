"""Boards as JSON: what ``airlock leaderboard --json`` prints, and the figures the
competition API adds to its own board (runner/competition/boards.py).

Everything a board shows is here, not only the ranking: each row's rank interval, group and
p vs the leader, each task's spread and interval, the board's resampling settings and its
pairwise significance map (docs/leaderboards.md), and the robustness score of rows with
probe results (docs/robustness.md; never on a board under the Ladder, which withholds
every exact figure). The shapes are TypedDicts, so ``--json --help`` renders the printed
shape (runner/cli/shapes.py). Imports nothing heavy: the CLI loads it to build its help.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from runner.leaderboard.model import Board, Entry, Row
    from runner.leaderboard.robustness import Robustness


class BoardTaskJSON(TypedDict):
    bundle: str
    task: str
    metric: str


class BoardEntryJSON(TypedDict):
    task: str
    status: Literal["scored", "failed", "undefined", "missing"]
    value: float | None
    """The score the board ranks on (normalized for SpaceOmicsBench); null unless scored."""
    mean: float | None
    sd: float | None
    """Population sd of the primary metric over folds."""
    low: float | None
    high: float | None
    """The task's interval as the board draws it: GeneLab's CI of the mean, else mean ± sd."""
    perm_p: float | None
    go_nogo: bool | None
    """GeneLab: the permutation p of the mean and the GO/NO-GO call; null elsewhere."""
    robustness: float | None
    """The task's robustness score (mean rAUC of its probes); null without probe results."""
    reason: str


class RankIntervalJSON(TypedDict):
    """How sure the board is of the row's place (2000 bootstrap resamples by default)."""

    median_rank: float
    rank_low: int
    rank_high: int
    """The 95% interval of the rank."""
    share_first: float
    group: int
    """Rows of a group cannot be told apart by the paired test at the board's alpha."""
    p_vs_leader: float | None


class BoardRowJSON(TypedDict):
    rank: int
    team: str
    image: str
    image_id: str
    composite: float | None
    complete: bool
    runtimes: list[str]
    """Container runtimes the row's folds ran under (runc; runsc: gVisor, slower)."""
    uncertainty: RankIntervalJSON | None
    """Null on a board under the Ladder or where nothing is scored."""
    robustness: float | None
    """The mean robustness score over the row's tasks that have one (the board's column)."""
    tasks: list[BoardEntryJSON]
    """Lined up with the board's ``tasks``."""


class SignificanceJSON(TypedDict):
    teams: list[str]
    """The map's rows and columns: the first rows of the board with a score, in order."""
    p: list[list[float | None]]
    """p of the paired test between two of them; null on the diagonal."""


class BoardUncertaintyJSON(TypedDict):
    """What the rows' uncertainty figures rest on: enough to recompute them."""

    test: Literal["sign-flip", "bootstrap"]
    units: int
    """Folds the board averages, over all its tasks."""
    resamples: int
    seed: int
    alpha: float
    significance: SignificanceJSON


class BoardJSON(TypedDict):
    title: str
    rule: str
    ladder: float | None
    """The Ladder's step when the board shows public (laddered) scores."""
    uncertainty: BoardUncertaintyJSON | None
    tasks: list[BoardTaskJSON]
    rows: list[BoardRowJSON]


def finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a figure is printed as null."""
    return value if value is not None and math.isfinite(value) else None


def board_uncertainty(board: Board) -> BoardUncertaintyJSON | None:
    """The board's resampling settings, test and significance map (None without them)."""
    stats = board.stats
    if stats is None:
        return None
    sampling = stats.resampling
    return BoardUncertaintyJSON(
        test=stats.method,
        units=stats.units,
        resamples=sampling.resamples,
        seed=sampling.seed,
        alpha=sampling.alpha,
        significance=SignificanceJSON(
            teams=list(stats.map_teams),
            p=[[finite(p) for p in line] for line in stats.map_p],
        ),
    )


def row_uncertainty(row: Row) -> RankIntervalJSON | None:
    stats = row.stats
    if stats is None:
        return None
    return RankIntervalJSON(
        median_rank=stats.median_rank,
        rank_low=stats.rank_low,
        rank_high=stats.rank_high,
        share_first=stats.share_first,
        group=stats.group,
        p_vs_leader=finite(stats.p_vs_leader),
    )


def _shown(robustness: Robustness | None, board: Board) -> Robustness | None:
    return robustness if robustness is not None and robustness.shown(board) else None


def row_robustness(robustness: Robustness | None, board: Board, row: Row) -> float | None:
    """The row's robustness score as the board's column shows it (None: no column)."""
    shown = _shown(robustness, board)
    return None if shown is None else finite(shown.score(board, row)[0])


def task_robustness(
    robustness: Robustness | None, board: Board, row: Row
) -> dict[str, float | None]:
    """The robustness score of each of the board's tasks for ``row``, by bundle id."""
    shown = _shown(robustness, board)
    summaries = dict.fromkeys((b for b, _, _ in board.tasks), None)
    if shown is not None:
        for (bundle_id, _, _), (_, summary) in zip(
            board.tasks, shown.entries(board, row), strict=True
        ):
            summaries[bundle_id] = None if summary is None else finite(summary.score)
    return summaries


def _entry(task: str, entry: Entry | None, robustness: float | None) -> BoardEntryJSON:
    status = "missing" if entry is None else entry.status
    return BoardEntryJSON(
        task=task,
        status=status,
        value=finite(entry.score) if entry and status == "scored" else None,
        mean=finite(entry.mean) if entry else None,
        sd=finite(entry.sd) if entry else None,
        low=finite(entry.low) if entry else None,
        high=finite(entry.high) if entry else None,
        perm_p=finite(entry.perm_p) if entry else None,
        go_nogo=entry.go_nogo if entry else None,
        robustness=robustness,
        reason=entry.reason if entry else "not submitted",
    )


def boards_json(boards: list[Board], robustness: Robustness | None = None) -> list[BoardJSON]:
    """Every board with every figure it shows (``airlock leaderboard --json``)."""
    shown = []
    for board in boards:
        rows = []
        for rank, row in enumerate(board.rows, start=1):
            by_task = task_robustness(robustness, board, row)
            rows.append(
                BoardRowJSON(
                    rank=rank,
                    team=row.team,
                    image=row.image_ref,
                    image_id=row.image_id,
                    composite=finite(row.composite),
                    complete=row.tier == 0,
                    runtimes=sorted(row.runtimes),
                    uncertainty=row_uncertainty(row),
                    robustness=row_robustness(robustness, board, row),
                    tasks=[
                        _entry(task, row.entries.get(bundle_id), by_task[bundle_id])
                        for bundle_id, task, _ in board.tasks
                    ],
                )
            )
        shown.append(
            BoardJSON(
                title=board.title,
                rule=board.rule,
                ladder=board.ladder,
                uncertainty=board_uncertainty(board),
                tasks=[BoardTaskJSON(bundle=b, task=t, metric=m) for b, t, m in board.tasks],
                rows=rows,
            )
        )
    return shown
