"""The robustness column of a leaderboard (runs with ``airlock run --probes``): the row's
robustness score and, on the HTML page, a small curve per task (inline SVG) of the share of
clean skill each probe kind keeps as its strength grows (docs/robustness.md).

Robustness is shown beside the ranking, never in it: the boards rank by the benchmarks' own
rules. A board gets the column only when some of its rows have probe results, and never
under the Ladder (public scores only).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from runner.leaderboard.model import Board, Row
from runner.results.model import BundleRobustness, ProbeCurve, SubmissionResult

EntryKey = tuple[str, str, str]
"""(team, image id, bundle id): one submission on one task, as boards key their rows."""
COLOURS = {"dropout": "#d9822b", "noise": "#5b8def", "shift": "#1b7f3b"}
HEADER = "robustness"
LEGEND = "mean rAUC; skill kept vs strength"


@dataclass(frozen=True)
class Robustness:
    """The probe summaries of the ranked results, by submission and task."""

    by_entry: dict[EntryKey, BundleRobustness]

    @classmethod
    def of(cls, results: list[SubmissionResult]) -> Robustness:
        """Each submission's latest result per task, as the boards take them."""
        found: dict[EntryKey, BundleRobustness] = {}
        for result in sorted(results, key=lambda r: r.provenance.finished_at):
            provenance = result.provenance
            key = (
                provenance.team or provenance.image_ref,
                provenance.image_id,
                provenance.bundle_id,
            )
            summary = result.statistics.robustness
            if summary is not None:
                found[key] = summary
            else:
                found.pop(key, None)
        return cls(found)

    def entries(self, board: Board, row: Row) -> list[tuple[str, BundleRobustness | None]]:
        """(task label, summary or None) for every task of the board, in board order."""
        return [
            (task, self.by_entry.get((row.team, row.image_id, bundle_id)))
            for bundle_id, task, _ in board.tasks
        ]

    def shown(self, board: Board) -> bool:
        """Whether the board gets the column: some row has probe results, and the board is
        not under the Ladder (robustness figures are computed from the exact scores the
        Ladder withholds, so they would be an oracle of their own)."""
        if board.ladder is not None:
            return False
        return any(s is not None for row in board.rows for _, s in self.entries(board, row))

    def score(self, board: Board, row: Row) -> tuple[float | None, int]:
        """The mean robustness score over the row's tasks that have one, and how many."""
        scores = [s.score for _, s in self.entries(board, row) if s and s.score is not None]
        return (sum(scores) / len(scores) if scores else None), len(scores)


def _score_text(robustness: Robustness, board: Board, row: Row) -> str:
    value, count = robustness.score(board, row)
    if value is None:
        return "-"
    partial = f" ({count} of {len(board.tasks)} tasks)" if count < len(board.tasks) else ""
    return f"{value:.3f}{partial}"


def markdown_header(robustness: Robustness | None, board: Board) -> list[str]:
    return [HEADER] if robustness is not None and robustness.shown(board) else []


def markdown_cells(robustness: Robustness | None, board: Board, row: Row) -> list[str]:
    if robustness is None or not robustness.shown(board):
        return []
    return [_score_text(robustness, board, row)]


def html_header(robustness: Robustness | None, board: Board) -> list[str]:
    if robustness is None or not robustness.shown(board):
        return []
    keys = " ".join(
        f'<span style="color:{colour}">{kind}</span>' for kind, colour in COLOURS.items()
    )
    return [f"{HEADER}<br><small>{html.escape(LEGEND)}: {keys}</small>"]


def html_cells(robustness: Robustness | None, board: Board, row: Row) -> list[str]:
    """One cell: the score (sorts the column) and a curve per task with probe results."""
    if robustness is None or not robustness.shown(board):
        return []
    value, _ = robustness.score(board, row)
    curves = "".join(curve_svg(task, s) for task, s in robustness.entries(board, row) if s)
    data = "" if value is None else f' data-value="{value:.6f}"'
    text = html.escape(_score_text(robustness, board, row))
    return [f'<td class="num robustness"{data}>{text}<div class="curves">{curves}</div></td>']


def _points(curve: ProbeCurve, width: float, height: float) -> str | None:
    """The curve as SVG points: (0, 1) then (level / top level, kept) scaled to the plot."""
    if not curve.points or any(p.kept is None for p in curve.points):
        return None
    top = curve.points[-1].level
    coords = [(0.0, 1.0), *((p.level / top, p.kept or 0.0) for p in curve.points)]
    return " ".join(f"{4 + x * width:.1f},{4 + (1 - y) * height:.1f}" for x, y in coords)


def curve_svg(task: str, summary: BundleRobustness) -> str:
    """A small plot of kept skill (1 at the top, 0 at the bottom) against strength (each
    kind scaled to its top level), one line per scored kind, the rAUCs in its title."""
    width, height = 96.0, 36.0
    lines, words = [], []
    for curve in summary.curves:
        if curve.probe not in COLOURS:
            agreement = curve.points[0].agreement if curve.points else None
            if agreement is not None:
                words.append(f"{curve.probe} agreement {agreement:.2f}")
            continue
        words.append(f"{curve.probe} rAUC {'-' if curve.rauc is None else f'{curve.rauc:.2f}'}")
        points = _points(curve, width, height)
        if points is not None:
            lines.append(
                f'<polyline class="robustness-curve" data-probe="{curve.probe}" points="{points}" '
                f'fill="none" stroke="{COLOURS[curve.probe]}" stroke-width="1.5"/>'
            )
    title = html.escape(f"{task}: " + ", ".join(words))
    frame = (
        f'<rect x="4" y="4" width="{width:g}" height="{height:g}" fill="none" stroke="#e3e6ea"/>'
    )
    label = (
        f'<text x="4" y="{height + 16:g}" font-size="10" fill="#5b6472">'
        f"{html.escape(task[:18])}</text>"
    )
    return (
        f'<svg class="robustness" width="{width + 8:g}" height="{height + 20:g}" role="img" '
        f'aria-label="{title}"><title>{title}</title>{frame}{"".join(lines)}{label}</svg>'
    )
