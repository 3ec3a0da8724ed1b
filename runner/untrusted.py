"""The one rule for text a submission wrote: it is data, never markup, a terminal control
or an unbounded string.

Everything a submission produces (stdout lines, its ``error`` message, ids, its name, its
stderr) is attacker-controlled. It may reach a dry-run reason, an organizer's log or the
participant's own terminal only through :func:`shown`, which escapes every control,
escape and invisible formatting character and caps the length. It never reaches a sealed
result or a public reason at all: those are built from fixed templates
(:mod:`runner.reasons`).
"""

from __future__ import annotations

import re
import unicodedata

from runner import limits

# C0 controls (newline, ESC, BEL...), DEL, C1 controls (incl. the 8-bit CSI \x9b), line and
# paragraph separators, zero-width and bidirectional formatting characters (which can make
# text display in another order than it is stored), the BOM and interlinear annotations.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)


# Characters that display as nothing (or change how neighbours display) without being in a
# "format" category: Hangul fillers, variation selectors, combining grapheme joiner.
_INVISIBLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
)
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escape(match: re.Match[str]) -> str:
    return _escape_char(match.group())


def _safe_char(char: str) -> str:
    """The character, or its escape when it is a control, format, private, unassigned or
    invisible character (the fast regex above catches the common ones first)."""
    if char.isascii() or (
        unicodedata.category(char) not in _UNSAFE_CATEGORIES and ord(char) not in _INVISIBLE
    ):
        return char
    return _escape_char(char)


def shown(data: bytes | str, limit: int = limits.QUOTE_CHARS) -> str:
    """``data`` as one printable line of at most about ``limit`` characters.

    Bytes are decoded as UTF-8 (undecodable bytes become ``\\xNN``); every unsafe character
    becomes its ``\\xNN``/``\\uNNNN`` escape; text beyond ``limit`` is cut and the cut is
    said. The result holds no newline, no escape sequence and no invisible character.
    """
    total = len(data)
    if isinstance(data, bytes):
        # Decode a little more than needed: escapes only ever lengthen the text.
        text = data[: limit * 4 + 4].decode("utf-8", errors="backslashreplace")
    else:
        text = data[: limit * 4 + 4]
    text = _UNSAFE.sub(_escape, text)
    if not text.isascii():
        text = "".join(map(_safe_char, text))
    unit = "bytes" if isinstance(data, bytes) else "characters"
    if len(text) > limit or total > limit * 4 + 4:
        return f"{text[:limit]}… ({total} {unit} in all)"
    return text


def shown_list(values: list[str], count: int = 5, each: int = limits.QUOTE_ID_CHARS) -> str:
    """The first ``count`` values, each quoted and capped: for ids named in a dry-run reason."""
    quoted = ", ".join(f"'{shown(value, each)}'" for value in values[:count])
    return quoted + (", …" if len(values) > count else "")


def capped_line(text: str, limit: int = limits.REASON_CHARS) -> str:
    """A reason or note made safe for one line of output whatever it holds (a last guard)."""
    return shown(text, limit)


LABEL_PREFIXES = ("io.airlock.", "org.opencontainers.image.")
"""Image labels recorded in results (the versions of its libraries, its source...); an
image's other labels are the participant's text and stay out."""


def shown_labels(labels: dict[str, str]) -> dict[str, str]:
    """An image's labels as a result records them: known prefixes only, escaped, capped
    (at most 20 labels of 200 characters each)."""
    kept = sorted(k for k in labels if k.startswith(LABEL_PREFIXES))[:20]
    return {shown(key, 80): shown(labels[key], 200) for key in kept}


def stays_inside(name: str) -> bool:
    """A relative name read from untrusted input (an archive member, a stored artifact)
    that cannot climb out of the folder it is taken in: not empty, not absolute, no ``..``."""
    parts = name.split("/")
    return name.strip("./") != "" and not name.startswith("/") and ".." not in parts
