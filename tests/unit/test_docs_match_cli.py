"""The docs and the CLI agree: every `airlock ...` command line quoted in README.md or docs/
names a command that exists with options it accepts, and every fold status has its section
in docs/errors.md and its one-line fix in runner/fixes.py."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer.main

from runner.cli import app
from runner.fixes import FIXES
from runner.verdict import Status

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
REQUIRED = ["participants.md", "organizers.md", "protocol.md", "bundle-format.md", "errors.md"]

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+)`")
_MENTION = re.compile(r"(?:^|(?<=[\s(=;|&]))airlock(?!\S)((?:[ \t]+[a-z][a-z-]*)*)(.*)$", re.M)


@dataclass(frozen=True)
class Mention:
    where: str
    words: list[str]
    options: list[str]


def _code(text: str) -> list[str]:
    """Code blocks (continuation lines joined) and inline code spans outside them."""
    blocks = [m.group(1).replace("\\\n", " ") for m in _FENCE.finditer(text)]
    prose = _FENCE.sub("", text)
    return blocks + _SPAN.findall(prose)


def _options(rest: str) -> list[str]:
    rest = rest.split(" #", 1)[0]
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    found = []
    for token in tokens:
        bare = token.strip("[](),")
        if bare.startswith("--"):
            found.append(bare.split("=", 1)[0])
    return found


def _mentions_in(text: str, name: str = "-") -> list[Mention]:
    mentions = []
    for snippet in _code(text):
        for match in _MENTION.finditer(snippet):
            where = f"{name}: airlock{match.group(1)}{match.group(2)}"
            mentions.append(Mention(where[:160], match.group(1).split(), _options(match.group(2))))
    return mentions


def _mentions() -> list[Mention]:
    return [
        mention
        for path in DOCS
        for mention in _mentions_in(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    ]


def _resolve(words: list[str]) -> tuple[Any, list[str]]:
    """The deepest command the words name, and the words it consumed (typer's own click)."""
    command: Any = typer.main.get_command(app)
    used: list[str] = []
    for word in words:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:  # a command, not a group: the rest are its arguments
            break
        sub = subcommands.get(word)
        if sub is None:
            raise LookupError(f"'airlock {' '.join([*used, word])}' is not a command")
        command, used = sub, [*used, word]
    return command, used


MENTIONS = _mentions()


def test_docs_exist_and_quote_commands() -> None:
    missing = [name for name in REQUIRED if not (REPO / "docs" / name).is_file()]
    assert missing == []
    assert len(MENTIONS) > 50, "the command extraction found too little to be trusted"
    quoted = {" ".join(_resolve(m.words)[1]) for m in MENTIONS}
    for needed in ["init", "doctor", "run", "bundle new", "bundle validate", "worker"]:
        assert needed in quoted, f"no doc quotes `airlock {needed}`"


def _unknown_options(mention: Mention) -> list[str]:
    command, _ = _resolve(mention.words)
    known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
    return [option for option in mention.options if option not in known | {"--help"}]


@pytest.mark.parametrize("mention", MENTIONS, ids=[m.where for m in MENTIONS])
def test_every_quoted_command_and_option_exists(mention: Mention) -> None:
    assert _unknown_options(mention) == [], mention.where


def test_the_check_catches_an_unknown_command_and_option() -> None:
    with pytest.raises(LookupError, match="'airlock bundle nope' is not a command"):
        _resolve(["bundle", "nope"])
    [bad] = [
        m
        for m in _mentions_in("`airlock run --image x --bundle b [--no-such 1]` and `airlock/sdk`")
    ]
    assert bad.words == ["run"]
    assert _unknown_options(bad) == ["--no-such"]


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## `([a-z_]+)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_errors_doc_explains_every_status_with_a_fix() -> None:
    sections = _sections((REPO / "docs" / "errors.md").read_text(encoding="utf-8"))
    assert list(sections) == [status.value for status in Status]
    for status in Status:
        if status is Status.OK:
            continue
        assert "**Fix:**" in sections[status.value], f"errors.md: `{status}` has no fix"
        assert FIXES.get(status), f"runner/fixes.py has no fix for {status}"
    assert set(FIXES) == set(Status) - {Status.OK}


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    found = []
    for name, sub in getattr(command, "commands", {}).items():
        found.append((" ".join((*path, name)), sub))
        found.extend(_commands(sub, (*path, name)))
    return found


def test_every_command_has_a_one_line_summary() -> None:
    """`airlock --help` lists the summaries; a hard line break in one shows as a ragged line."""
    for name, command in _commands(typer.main.get_command(app)):
        summary = (command.help or "").strip().split("\n\n")[0]
        assert summary, f"airlock {name} has no help"
        assert "\n" not in summary, f"airlock {name}: summary spans lines: {summary!r}"
