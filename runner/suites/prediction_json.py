"""Participants' prediction JSON, as both benchmark formats read it.

Reading: a repeated key is noticed without changing the document (the last value wins, as
with ``json``, and the object lists the repeats), and NaN/Infinity keep the token they were
written with, for the message. Values: the strict ``Probability`` type of the pydantic
models, and the four ways a value fails it, in the order problems are reported. Words:
how a JSON value, a count and a long list are written in one-line problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from pydantic_core import ErrorDetails

from runner.errors import Signal

SHOWN = 5
"""How many items a problem line names before ``…``."""

Probability = Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)]
"""A finite number in [0, 1]; strict, so ``true``/``false`` and numeric strings are refused."""


class Constant(float):
    """A NaN/Infinity token from the JSON text (kept so it can be reported by name)."""

    token: str

    def __new__(cls, token: str) -> Constant:
        value = super().__new__(cls, float(token.replace("Infinity", "inf")))
        value.token = token
        return value


class JsonObject(dict[str, Any]):
    """A JSON object as parsed: the last value of a repeated key wins, and ``duplicates``
    lists each repeat (a key given three times appears twice)."""

    duplicates: list[str]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> JsonObject:
        document = cls(pairs)
        seen: set[str] = set()
        document.duplicates = []
        for key, _ in pairs:
            if key in seen:
                document.duplicates.append(key)
            seen.add(key)
        return document


def duplicates_of(value: object) -> list[str]:
    """The repeated keys of a parsed object (none for anything else)."""
    return value.duplicates if isinstance(value, JsonObject) else []


class Unreadable(Signal):
    """The file cannot be read or is not JSON; the message is the one-line problem."""


def read_json(path: Path) -> Any:
    """The parsed document; objects are ``JsonObject``, NaN/Infinity ``Constant``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable("file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"cannot be read: {exc}") from None
    try:
        return json.loads(text, parse_constant=Constant, object_pairs_hook=JsonObject.from_pairs)
    except json.JSONDecodeError as exc:
        raise Unreadable(
            f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})"
        ) from None
    except RecursionError:
        raise Unreadable("JSON nests too deeply") from None


def kind(value: object) -> str:
    """What a JSON value is, for "got ..." in a problem."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def count(n: int, noun: str) -> str:
    """``1 value`` / ``2 values``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def shown(items: Iterable[str]) -> str:
    """The first ``SHOWN`` items, comma-separated, then ``…`` when there are more."""
    items = list(items)
    return ", ".join(items[:SHOWN]) + (", …" if len(items) > SHOWN else "")


class BadValue(StrEnum):
    """The ways a value is not a probability, in the order problems are reported."""

    NOT_A_NUMBER = "not a number"
    BOOLEAN = "true/false, not a probability"
    NOT_FINITE = "NaN or infinite"
    OUT_OF_RANGE = "outside [0, 1]"


def bad_values(errors: Iterable[ErrorDetails]) -> dict[BadValue, list[ErrorDetails]]:
    """``Probability`` validation errors by what is wrong (only kinds that occur, in order)."""
    found: dict[BadValue, list[ErrorDetails]] = {bad: [] for bad in BadValue}
    for error in errors:
        found[_bad_value(error)].append(error)
    return {bad: listed for bad, listed in found.items() if listed}


def _bad_value(error: ErrorDetails) -> BadValue:
    if error["type"] == "finite_number":
        return BadValue.NOT_FINITE
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        return BadValue.OUT_OF_RANGE
    return BadValue.BOOLEAN if isinstance(error["input"], bool) else BadValue.NOT_A_NUMBER
