"""The board's uncertainty drawn as inline SVG (no external resources): a rank interval per
row, and the pairwise significance map (rows x rows, coloured by the paired test's p)."""

from __future__ import annotations

import html

from runner.leaderboard.model import BoardStats, RowStats

# p bins, most significant first: (upper bound as a share of alpha or absolute, colour)
_SEPARATED = ("#08306b", "#2171b5", "#6baed6")
_TIED = "#e3e6ea"
_NONE = "#ffffff"


def rank_interval(stats: RowStats, rows: int) -> str:
    """A line from the row's 2.5% to its 97.5% rank on a 1..rows scale (1 on the left),
    a dot at the median rank."""
    width, height, pad = 110, 14, 5

    def x(rank: float) -> float:
        return pad + (rank - 1) / max(rows - 1, 1) * (width - 2 * pad)

    label = (
        f"median rank {stats.median_rank:g}, 95% interval {stats.rank_low} to "
        f"{stats.rank_high} of {rows}; first in {stats.share_first:.0%} of resamples"
    )
    y = height / 2
    return (
        f'<svg class="rank-interval" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(label)}"><title>{html.escape(label)}</title>'
        f'<line x1="{pad}" x2="{width - pad}" y1="{y}" y2="{y}" stroke="#d5d9df"/>'
        f'<line class="interval" x1="{x(stats.rank_low):.1f}" x2="{x(stats.rank_high):.1f}" '
        f'y1="{y}" y2="{y}" stroke="#1d2430" stroke-width="3" stroke-linecap="round"/>'
        f'<circle class="median" cx="{x(stats.median_rank):.1f}" cy="{y}" r="3.5" '
        'fill="#e8590c"/></svg>'
    )


def p_colour(p: float | None, alpha: float) -> str:
    """Dark to light blue as p falls below alpha, alpha/5 and alpha/50; grey for a tie."""
    if p is None:
        return _NONE
    if p >= alpha:
        return _TIED
    if p < alpha / 50:
        return _SEPARATED[0]
    return _SEPARATED[1] if p < alpha / 5 else _SEPARATED[2]


def _legend(alpha: float, top: int) -> str:
    bins = [
        (_SEPARATED[0], f"p < {alpha / 50:g}"),
        (_SEPARATED[1], f"p < {alpha / 5:g}"),
        (_SEPARATED[2], f"p < {alpha:g}"),
        (_TIED, f"p \u2265 {alpha:g}: not separable"),
    ]
    parts = []
    for i, (colour, text) in enumerate(bins):
        x = i * 150
        parts.append(
            f'<rect x="{x}" y="{top}" width="12" height="12" fill="{colour}" stroke="#b8bec7"/>'
            f'<text x="{x + 16}" y="{top + 10}" font-size="11">{html.escape(text)}</text>'
        )
    return "".join(parts)


def significance_map(stats: BoardStats) -> str:
    """Rows x rows (the first ``map_rows`` with a score), each cell the paired test's p
    between the two rows; row labels carry the board position, columns the same numbers."""
    teams, alpha = stats.map_teams, stats.resampling.alpha
    size = len(teams)
    cell = 22 if size <= 12 else 14
    left, top = 200, 20
    width = max(left + cell * size + 10, 600)
    height = top + cell * size + 34
    parts = [
        f'<svg class="significance-map" width="{width}" height="{height}" role="img" '
        'aria-label="pairwise significance map">'
    ]
    for i, team in enumerate(teams):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell * 0.7:.1f}" font-size="11" text-anchor="end">'
            f"{i + 1}. {html.escape(team[:28])}</text>"
            f'<text x="{left + i * cell + cell / 2:.1f}" y="{top - 6}" font-size="10" '
            f'text-anchor="middle">{i + 1}</text>'
        )
        for j, p in enumerate(stats.map_p[i]):
            shown = "" if p is None else f"{p:.3g}"
            title = f"{team} vs {teams[j]}: " + (f"p = {shown}" if p is not None else "-")
            parts.append(
                f'<rect class="cell" x="{left + j * cell}" y="{y}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{p_colour(p, alpha)}" data-p="{shown}">'
                f"<title>{html.escape(title)}</title></rect>"
            )
    parts.append(_legend(alpha, top + cell * size + 12))
    parts.append("</svg>")
    return "".join(parts)
