"""Writing boards as Markdown, CSV and one self-contained HTML page (no network requests:
inline CSS, inline SVG charts, inline JavaScript for sorting; works from file://)."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

from runner.leaderboard import figures
from runner.leaderboard import robustness as rb  # the robustness column (airlock run --probes)
from runner.leaderboard.export import task_robustness
from runner.leaderboard.model import Board, Entry, Row, RowStats
from runner.untrusted import shown


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _digits(board: Board) -> int:
    """Decimals shown: 3, or those of the Ladder's step (public scores are multiples of it)."""
    if board.ladder is None:
        return 3
    return max(0, math.ceil(-math.log10(board.ladder) - 1e-9))


def _p(value: float | None) -> str:
    if value is None:
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _interval(stats: RowStats) -> str:
    return f"{stats.median_rank:g} [{stats.rank_low}-{stats.rank_high}]"


STATS_HEADER = ["group", "median rank [95% interval]", "share first", "p vs leader"]


def _stats_cells(row: Row) -> list[str]:
    """The row's uncertainty figures as text (Markdown): group, rank interval, share, p."""
    stats = row.stats
    if stats is None:
        return ["", "", "", ""]
    return [str(stats.group), _interval(stats), f"{stats.share_first:.0%}", _p(stats.p_vs_leader)]


def _cell(entry: Entry | None, digits: int = 3) -> str:
    if entry is None:
        return "-"
    if entry.status != "scored":
        return f"{entry.status} ({entry.reason})"
    text = _num(entry.score, digits)
    if entry.mean is not None and entry.score != entry.mean:
        text += f" (mean {_num(entry.mean, digits)})"
    if entry.go_nogo is not None:
        text += " GO" if entry.go_nogo else " NO-GO"
    return text


def _when(row: Row) -> str:
    return f"{row.finished_at:%Y-%m-%d %H:%M}"


def markdown(boards: list[Board], robustness: rb.Robustness | None = None) -> str:
    lines = ["# Airlock leaderboard", ""]
    for board in boards:
        lines += [f"## {board.title}", "", board.caption, ""]
        digits, stats = _digits(board), board.stats is not None
        header = [
            "rank",
            "team",
            board.composite_label,
            *(STATS_HEADER if stats else []),
            *[f"{t[1]} ({t[2]})" for t in board.tasks],
            *rb.markdown_header(robustness, board),
            "fit s",
            "predict s",
            "peak MiB",
            "submitted (UTC)",
            "submissions",
        ]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for number, row in enumerate(board.rows, start=1):
            cells = [
                str(number), f"{_md(row.team)} (`{row.image_id[7:19]}`)"
                + (f" [{row.runtime_note}]" if row.runtime_note else ""),
                _num(row.composite, digits) + (" (incomplete)" if row.tier == 1 else ""),
                *(_stats_cells(row) if stats else []),
                *[_cell(row.entries.get(t[0]), digits) for t in board.tasks],
                *rb.markdown_cells(robustness, board, row),
                _num(row.resource("fit_seconds"), 1), _num(row.resource("predict_seconds"), 1),
                _num((row.resource("peak_memory_bytes") or 0) / 2**20, 0) if row.resource("peak_memory_bytes") else "",
                _when(row), str(row.submissions),
            ]  # fmt: skip
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _md(text: str) -> str:
    """A name as Markdown text: escaped, so it cannot become a link, an image or markup."""
    return _MD_SPECIAL.sub(r"\\\1", shown(text, 80))


def _stats_csv(board: Board, row: Row) -> list[object]:
    """group, median_rank, rank_low, rank_high, share_first, p_vs_leader, test, resamples,
    seed and ladder_step (empty where the board has none)."""
    stats, figures_of = row.stats, board.stats
    ladder = "" if board.ladder is None else f"{board.ladder:g}"
    if stats is None or figures_of is None:
        return ["", "", "", "", "", "", "", "", "", ladder]
    sampling = figures_of.resampling
    return [
        stats.group, f"{stats.median_rank:g}", stats.rank_low, stats.rank_high,
        _num(stats.share_first, 4), _num(stats.p_vs_leader, 6), figures_of.method,
        sampling.resamples, sampling.seed, ladder,
    ]  # fmt: skip


def csv_text(boards: list[Board], robustness: rb.Robustness | None = None) -> str:
    """Long format: one line per (board, submission, task), missing tasks included;
    ``robustness`` is the task's robustness score where the board shows the column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["board", "rank", "team", "image", "image_id", "composite", "complete", "task",
                     "bundle_id", "metric", "status", "score", "mean", "sd", "low", "high", "perm_p",
                     "go_nogo", "fit_seconds", "predict_seconds", "peak_memory_bytes", "reason",
                     "submitted_at", "submissions", "group", "median_rank", "rank_low", "rank_high",
                     "share_first", "p_vs_leader", "test", "resamples", "seed", "ladder_step",
                     "robustness"])  # fmt: skip
    for board in boards:
        for number, row in enumerate(board.rows, start=1):
            robust = task_robustness(robustness, board, row)
            for bundle_id, task, _ in board.tasks:
                entry = row.entries.get(bundle_id)
                if entry is None:
                    continue
                writer.writerow([
                    board.title, number, row.team, row.image_ref, row.image_id, _num(row.composite, 6),
                    row.tier == 0, task, bundle_id, entry.metric, entry.status, _num(entry.score, 6),
                    _num(entry.mean, 6), _num(entry.sd, 6), _num(entry.low, 6), _num(entry.high, 6),
                    _num(entry.perm_p, 6), "" if entry.go_nogo is None else entry.go_nogo,
                    _num(entry.fit_seconds, 3), _num(entry.predict_seconds, 3),
                    entry.peak_memory_bytes or "", entry.reason, row.finished_at.isoformat(),
                    row.submissions, *_stats_csv(board, row), _num(robust[bundle_id], 6),
                ])  # fmt: skip
    return buffer.getvalue()


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2430;max-width:1400px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 4px} .rule{color:#5b6472;margin:0 0 10px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px} th,td{padding:6px 8px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f4f6f8;cursor:pointer;user-select:none;position:sticky;top:0} th.sorted-desc::after{content:" ▼"} th.sorted-asc::after{content:" ▲"}
td.num{text-align:right;font-variant-numeric:tabular-nums} .failed,.undefined,.missing{color:#a4303f} .go{color:#1b7f3b;font-weight:600} .runtime{font-size:.75em;background:#e8eef7;border-radius:3px;padding:0 3px}
details summary{cursor:pointer;color:#2a5bd7} details dl{margin:4px 0 0;font-size:12px;color:#3b4452} dt{font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:16px} figure{margin:0;border:1px solid #e3e6ea;border-radius:6px;padding:8px} figcaption{font-size:12px;color:#3b4452}
tr.group-even td{background:#f7f9fc} td.rank svg{display:block} td.rank small{color:#5b6472} .significance{margin:0 0 16px}
td.robustness .curves{display:flex;flex-wrap:wrap;gap:2px;justify-content:flex-end}
"""

_SCRIPT = """
document.querySelectorAll('table.board').forEach(function(table){
  table.querySelectorAll('th[data-col]').forEach(function(th){
    th.addEventListener('click', function(){
      var col = +th.dataset.col, desc = !th.classList.contains('sorted-desc');
      table.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-desc','sorted-asc');});
      th.classList.add(desc ? 'sorted-desc' : 'sorted-asc');
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var x = a.cells[col].dataset.value, y = b.cells[col].dataset.value;
        var fx = x === undefined || x === '', fy = y === undefined || y === '';
        if (fx || fy) { return fx === fy ? 0 : (fx ? 1 : -1); }  // failed or missing: always last
        var nx = parseFloat(x), ny = parseFloat(y);
        var cmp = isNaN(nx) || isNaN(ny) ? String(x).localeCompare(String(y)) : nx - ny;
        return desc ? -cmp : cmp;
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
"""


def _td(text: str, value: float | str | None = None, css: str = "") -> str:
    data = "" if value is None else f' data-value="{html.escape(str(value))}"'
    klass = f' class="{css}"' if css else ""
    return f"<td{klass}{data}>{text}</td>"


def _entry_td(entry: Entry | None, digits: int = 3) -> str:
    if entry is None:
        return _td("-")
    if entry.status != "scored":
        return _td(
            f"{entry.status}<br><small>{html.escape(entry.reason)}</small>", None, entry.status
        )
    text = _num(entry.score, digits)
    extra = []
    if entry.mean is not None and entry.score != entry.mean:
        extra.append(f"mean {_num(entry.mean, digits)}")
    if entry.low is not None and entry.high is not None:
        extra.append(f"[{_num(entry.low, digits)}, {_num(entry.high, digits)}]")
    if entry.perm_p is not None:
        extra.append(f"p {_num(entry.perm_p)}")
    if entry.go_nogo is not None:
        text += ' <span class="go">GO</span>' if entry.go_nogo else " NO-GO"
    small = f"<br><small>{' '.join(extra)}</small>" if extra else ""
    return _td(text + small, entry.score, "num")


def _provenance(row: Row) -> str:
    items = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in row.provenance.items()
    )
    note = row.runtime_note
    badge = f' <span class="runtime" title="container runtime">{html.escape(note)}</span>'
    summary = html.escape(row.team) + (badge if note else "")
    return f"<details><summary>{summary}</summary><dl>{items}</dl></details>"


def _chart(board: Board, bundle_id: str, task: str, metric: str) -> str:
    """A horizontal bar per submission (its mean) with a whisker from low to high."""
    bars = [(row.team, row.entries.get(bundle_id)) for row in board.rows]
    values = [
        (team, e)
        for team, e in bars
        if e is not None and e.status == "scored" and e.mean is not None
    ]
    width, bar_h, left = 420, 18, 150
    height = 24 + bar_h * max(len(bars), 1) + 8
    top = max([e.high or e.mean or 0 for _, e in values] + [1.0])
    scale = (width - left - 20) / top if top > 0 else 1
    parts = [
        f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="{html.escape(task)}">'
    ]
    for i, (team, entry) in enumerate(bars):
        y = 20 + i * bar_h
        parts.append(f'<text x="4" y="{y + 12}" font-size="11">{html.escape(team[:22])}</text>')
        if entry is None or entry.status != "scored" or entry.mean is None:
            status = entry.status if entry else "-"
            parts.append(
                f'<text x="{left + 4}" y="{y + 12}" font-size="11" fill="#a4303f">{status}</text>'
            )
            continue
        w = max(entry.mean, 0) * scale
        parts.append(
            f'<rect class="bar" x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 6}" fill="#5b8def"><title>{entry.mean:.4f}</title></rect>'
        )
        if entry.low is not None and entry.high is not None:
            x1, x2, cy = (
                left + max(entry.low, 0) * scale,
                left + max(entry.high, 0) * scale,
                y + bar_h / 2,
            )
            parts.append(
                f'<path class="whisker" d="M{x1:.1f},{cy} H{x2:.1f} M{x1:.1f},{cy - 4} V{cy + 4} M{x2:.1f},{cy - 4} V{cy + 4}" stroke="#1d2430" fill="none"/>'
            )
    parts.append(
        f'<text x="{left}" y="12" font-size="11" fill="#5b6472">{html.escape(metric)} (0 to {top:.2f})</text></svg>'
    )
    return f"<figure>{''.join(parts)}<figcaption>{html.escape(task)}</figcaption></figure>"


def _stats_tds(board: Board, row: Row) -> list[str]:
    """Group, rank interval (inline SVG), share first and p vs the leader of one row."""
    stats = row.stats
    if stats is None:
        return [_td(""), _td(""), _td(""), _td("")]
    interval = figures.rank_interval(stats, len(board.rows))
    return [
        _td(str(stats.group), stats.group, "num"),
        _td(f"{interval}<small>{_interval(stats)}</small>", stats.median_rank, "rank"),
        _td(f"{stats.share_first:.0%}", stats.share_first, "num"),
        _td(_p(stats.p_vs_leader), stats.p_vs_leader, "num"),
    ]


def _html_row(board: Board, number: int, row: Row, robustness: rb.Robustness | None = None) -> str:
    peak = row.resource("peak_memory_bytes")
    digits = _digits(board)
    incomplete = "<br><small>incomplete</small>" if row.tier == 1 else ""
    cells = [
        _td(str(number), number, "num"), _td(_provenance(row), row.team),
        _td(_num(row.composite, digits) + incomplete, row.composite, "num"),
        *(_stats_tds(board, row) if board.stats is not None else []),
        *[_entry_td(row.entries.get(t[0]), digits) for t in board.tasks],
        *rb.html_cells(robustness, board, row),
        _td(_num(row.resource("fit_seconds"), 1), row.resource("fit_seconds"), "num"),
        _td(_num(row.resource("predict_seconds"), 1), row.resource("predict_seconds"), "num"),
        _td(_num(peak / 2**20, 0) if peak else "", peak / 2**20 if peak else None, "num"),
        _td(_when(row), row.finished_at.isoformat()),
        _td(str(row.submissions), row.submissions, "num"),
        _td(f"<code>{html.escape(row.image_ref)}</code>", row.image_ref),
    ]  # fmt: skip
    group = row.stats.group if row.stats is not None else 1
    return (
        f'<tr data-team="{html.escape(row.team)}" data-group="{group}" '
        f'class="group-{"even" if group % 2 == 0 else "odd"}">{"".join(cells)}</tr>'
    )


def _significance(board: Board) -> str:
    """The pairwise significance map with a sentence on how to read it."""
    stats = board.stats
    if stats is None or len(stats.map_teams) < 2:
        return ""
    return (
        '<div class="significance"><h3>Pairwise significance</h3><p class="rule">Each cell '
        f"is the p of the paired test ({stats.method}) between the row and column entries "
        f"(numbered by board position; the first {len(stats.map_teams)} rows with a score). "
        f"Blue: the two differ at p &lt; {stats.resampling.alpha:g} (darker: smaller p); "
        f"grey: the test cannot tell them apart.</p>{figures.significance_map(stats)}</div>"
    )


def _section(board: Board, robustness: rb.Robustness | None = None) -> str:
    head = [
        "#",
        "team",
        html.escape(board.composite_label),
        *(
            ["group", "rank<br><small>median [95% interval]</small>", "share first", "p vs leader"]
            if board.stats is not None
            else []
        ),
        *[f"{html.escape(t[1])}<br><small>{html.escape(t[2])}</small>" for t in board.tasks],
        *rb.html_header(robustness, board),
        "fit s",
        "predict s",
        "peak MiB",
        "submitted (UTC)",
        "submissions",
        "image",
    ]
    ths = "".join(f'<th data-col="{i}">{h}</th>' for i, h in enumerate(head))
    body = "".join(
        _html_row(board, n, row, robustness) for n, row in enumerate(board.rows, start=1)
    )
    charts = "".join(_chart(board, *task) for task in board.tasks)
    return (
        f'<section><h2>{html.escape(board.title)}</h2><p class="rule">{html.escape(board.caption)} '
        "Click a column to sort.</p>"
        f'<table class="board" data-board="{board.suite}"><thead><tr>{ths}</tr></thead>'
        f"<tbody>{body}</tbody></table>{_significance(board)}"
        f'<div class="charts">{charts}</div></section>'
    )


def html_page(boards: list[Board], robustness: rb.Robustness | None = None) -> str:
    sections = [_section(board, robustness) for board in boards]
    generated = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    data = html.escape(json.dumps({"generated": generated, "boards": [b.title for b in boards]}))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        'content="width=device-width, initial-scale=1"><title>Airlock leaderboard</title>'
        f"<style>{_STYLE}</style></head><body><h1>Airlock leaderboard</h1>"
        f'<p class="rule" data-meta="{data}">Generated {generated}.</p>{"".join(sections)}'
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_all(boards: list[Board], out: Path, robustness: rb.Robustness | None = None) -> None:
    """leaderboard.md, .csv and .html in ``out``, each replaced atomically; ``robustness``
    adds its column to the boards that have probe results."""
    out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("leaderboard.md", markdown(boards, robustness)),
        ("leaderboard.csv", csv_text(boards, robustness)),
        ("leaderboard.html", html_page(boards, robustness)),
    ):
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)
