"""What the read commands print with ``--json`` (``airlock results table``, ``airlock
leaderboard``, ``airlock bundle list`` and ``bundle validate``), defined once as TypedDicts
(a board's own shape is in runner/leaderboard/export.py, which the competition API shares).

Each ``--json`` help text is rendered from these shapes, so the documented shape is the
printed one. With ``--json`` stdout holds the JSON alone; notes for people go to stderr.
"""

from __future__ import annotations

import json
import math
import types
import typing
from typing import Annotated, Any, Literal, TypedDict

import typer

from runner.leaderboard.export import BoardJSON


class SubmissionJSON(TypedDict):
    """A submission: who submitted (provenance.team) and what (the image reference)."""

    team: str
    image: str


class CellJSON(TypedDict):
    """One submission on one bundle: the primary metric over folds (its latest result)."""

    mean: float | None
    sd: float | None
    n_folds: int
    n_scored: int
    failed_folds: list[str]
    robustness: float | None
    """The robustness score (mean rAUC of its probes); null without probe results."""
    bundle_hash: str
    finished_at: str


class TableRowJSON(TypedDict):
    bundle: str
    metric: str
    cells: list[CellJSON | None]
    """Lined up with ``columns``; null where the submission has no result on the bundle."""


class ResultsTableJSON(TypedDict):
    """``airlock results table --json``."""

    store: str
    columns: list[SubmissionJSON]
    rows: list[TableRowJSON]


class LeaderboardJSON(TypedDict):
    """``airlock leaderboard --json``."""

    out: str
    per_team: str
    left_out: int
    """Results of local --command runs (no isolation), never ranked."""
    boards: list[BoardJSON]


class BundleListItemJSON(TypedDict):
    path: str
    id: str | None
    valid: bool
    task_type: str | None
    folds: int | None
    primary_metric: str | None
    hash: str | None
    title: str | None
    problem: str | None
    """The first problem of an invalid bundle.yaml (``airlock bundle validate`` lists all)."""


class BundleListJSON(TypedDict):
    """``airlock bundle list --json``."""

    root: str
    bundles: list[BundleListItemJSON]


class ProblemJSON(TypedDict):
    file: str
    line: int | None
    column: str | None
    message: str


class ValidatedBundleJSON(TypedDict):
    path: str
    ok: bool
    problems: list[ProblemJSON]


class ValidateJSON(TypedDict):
    """``airlock bundle validate --json`` (exit code 1 when ``ok`` is false)."""

    ok: bool
    bundles: list[ValidatedBundleJSON]


def shape_of(kind: Any) -> str:
    """A JSON shape as one line of text, e.g. ``{ok: bool, bundles: [{path: str, ...}, ...]}``."""
    if typing.is_typeddict(kind):
        fields = typing.get_type_hints(kind)
        return "{" + ", ".join(f"{name}: {shape_of(sub)}" for name, sub in fields.items()) + "}"
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return f"[{shape_of(args[0])}, ...]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(shape_of(arg) for arg in args)
    if origin is Literal:
        return " | ".join(json.dumps(arg) for arg in args)
    names: dict[Any, str] = {str: "str", int: "int", float: "number", bool: "bool"}
    return names.get(kind, "null")


def json_help(kind: Any, note: str = "") -> str:
    """The ``--json`` option's help: what is printed, in which shape."""
    from rich.markup import escape  # the help is rich markup: keep [..] literal

    return escape(f"Print JSON on stdout instead (notes go to stderr){note}: {shape_of(kind)}.")


QUIET_HELP = "Print only the output itself, warnings and errors: no progress, no notes."
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)]
"""``--quiet`` of the read commands, beside ``--json``."""


def print_json(payload: Any) -> None:
    """The only thing ``--json`` writes to stdout."""
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def note(text: str, quiet: bool) -> None:
    """A note for people (stderr), left out with --quiet."""
    if not quiet:
        typer.echo(f"airlock: note: {text}", err=True)


def finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a figure is printed as null."""
    return value if value is not None and math.isfinite(value) else None
