"""Reading the bundle's CSV tables with the exact line of every problem.

The standard ``csv`` module is used instead of pandas because pandas pads short rows with
NaN without a word: a silently mangled sample is worse than a slower parser.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runner.bundle.problems import Problem
from runner.errors import BundleError

MISSING_TOKENS = frozenset({"", "NA", "NaN", "nan"})
"""Cells that mean "no value": features may be missing, labels and ids may not."""
MAX_REPORTED = 10
"""Problems of one kind reported per file before they are summarised as a count."""


@dataclass(frozen=True)
class Table:
    """A CSV whose first column is the sample id. Cells are kept as the exact text read."""

    path: Path
    header: list[str]
    ids: list[str]
    rows: list[list[str]]
    lines: list[int]
    """Line number (1-based, header is line 1) of each row."""

    @property
    def id_column(self) -> str:
        return self.header[0]

    @property
    def columns(self) -> list[str]:
        return self.header[1:]

    def column(self, name: str) -> list[str]:
        index = self.header.index(name) - 1
        return [row[index] for row in self.rows]


def read_table(path: Path) -> tuple[Table | None, list[Problem]]:
    """Read ``path``; return the table (None when unusable) and every problem found."""
    problems: list[Problem] = []
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(path, "file is missing")]
    except OSError as exc:
        return None, [Problem(path, f"cannot be read: {exc.strerror}")]
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                return None, [Problem(path, "file is empty; expected a header line")]
            width = len(header)
            if width < 1 or header[0] == "":
                problems.append(Problem(path, "the first header cell must name the id column", 1))
            problems.extend(_duplicate_headers(path, header))
            ids: list[str] = []
            rows: list[list[str]] = []
            lines: list[int] = []
            ragged = 0
            for record in reader:
                line = reader.line_num
                if not record:
                    continue  # blank line: csv yields [], nothing to lose
                if len(record) != width:
                    ragged += 1
                    if ragged <= MAX_REPORTED:
                        problems.append(
                            Problem(path, f"expected {width} fields, found {len(record)}", line)
                        )
                    continue
                ids.append(record[0])
                rows.append(record[1:])
                lines.append(line)
        except UnicodeDecodeError as exc:
            return None, [Problem(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        except csv.Error as exc:
            return None, [Problem(path, f"malformed CSV: {exc}", reader.line_num)]
    if ragged > MAX_REPORTED:
        problems.append(Problem(path, f"{ragged} rows in all have the wrong number of fields"))
    table = Table(path, header, ids, rows, lines)
    problems.extend(_id_problems(table))
    return table, problems


def load_table(path: Path) -> Table:
    """Read ``path`` for use, failing on its first problem (validation reports them all)."""
    table, problems = read_table(path)
    if problems or table is None:
        raise BundleError(str(problems[0]))
    return table


def _duplicate_headers(path: Path, header: Sequence[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for name in header:
        if name in seen:
            problems.append(Problem(path, f"header names column {name!r} twice", 1))
        seen.add(name)
    return problems


def _id_problems(table: Table) -> list[Problem]:
    problems = []
    first_line: dict[str, int] = {}
    for sample_id, line in zip(table.ids, table.lines, strict=True):
        if sample_id.strip() == "" or sample_id != sample_id.strip():
            problems.append(
                Problem(table.path, f"sample id {sample_id!r} is empty or has spaces", line)
            )
        elif sample_id in first_line:
            problems.append(
                Problem(
                    table.path,
                    f"duplicate sample id {sample_id!r} (first at line {first_line[sample_id]})",
                    line,
                    table.id_column,
                )
            )
        else:
            first_line[sample_id] = line
        if len(problems) >= MAX_REPORTED:
            problems.append(Problem(table.path, "more id problems follow; fix these first"))
            break
    return problems


def numeric_matrix(table: Table) -> tuple[np.ndarray, list[Problem]]:
    """The table's cells as float64 (missing cells NaN) and every non-numeric cell."""
    n_rows, n_cols = len(table.rows), len(table.columns)
    if n_rows == 0 or n_cols == 0:
        return np.empty((n_rows, n_cols)), []
    cells = np.array(table.rows, dtype=str)
    missing = np.isin(cells, list(MISSING_TOKENS))
    cells[missing] = "nan"
    try:
        values = cells.astype(np.float64)
    except ValueError:
        return _locate_bad_cells(table, cells)
    infinite = np.isinf(values)
    if infinite.any():
        return values, _cell_problems(table, infinite, "expected a finite number")
    return values, []


def _locate_bad_cells(table: Table, cells: np.ndarray) -> tuple[np.ndarray, list[Problem]]:
    values = np.full(cells.shape, np.nan)
    bad = np.zeros(cells.shape, dtype=bool)
    for (i, j), text in np.ndenumerate(cells):
        try:
            values[i, j] = float(text)
        except ValueError:
            bad[i, j] = True
    bad |= np.isinf(values)
    return values, _cell_problems(table, bad, "expected a number")


def _cell_problems(table: Table, mask: np.ndarray, expected: str) -> list[Problem]:
    problems = []
    positions = np.argwhere(mask)
    for i, j in positions[:MAX_REPORTED]:
        cell = table.rows[i][j]
        problems.append(
            Problem(
                table.path, f"{expected}, found {cell[:40]!r}", table.lines[i], table.columns[j]
            )
        )
    if len(positions) > MAX_REPORTED:
        problems.append(Problem(table.path, f"{len(positions)} cells in all: {expected}"))
    return problems
