"""``airlock init``: a new submission folder from a template that builds and passes a dry
run unchanged. Templates are package data under ``templates/`` (``common/`` plus one folder
per template, which holds its ``model.py``); the only substitutions
are ``{{name}}``, ``{{template}}``, ``{{bundles}}`` and ``{{repo}}``."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from runner.errors import UsageError

TEMPLATES = ("python", "xgboost")
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_REPO = Path(__file__).resolve().parents[2]


def _placeholders(name: str, template: str) -> dict[str, str]:
    """Paths written into the README: this checkout's sample bundles when there is one."""
    bundles = _REPO / "task_bundles"
    found = bundles.is_dir() and (_REPO / "Makefile").is_file()
    return {
        "{{name}}": name,
        "{{template}}": template,
        "{{bundles}}": str(bundles) if found else "path/to/airlock/task_bundles",
        "{{repo}}": str(_REPO) if found else "path/to/airlock",
    }


def scaffold(name: str, template: str, out: Path) -> list[Path]:
    """Write the submission folder ``out`` (new or empty); return the files written."""
    if not _NAME.match(name):
        raise UsageError(
            f"name {name!r}: use lower-case letters, digits and . _ - between them "
            "(it becomes the image name)"
        )
    if template not in TEMPLATES:
        raise UsageError(f"--template {template!r}: choose one of {', '.join(TEMPLATES)}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} already exists and is not an empty directory; nothing written")
    root = resources.files("runner.scaffold") / "templates"
    # common/ holds what every template shares; a template's own file of the same name wins.
    sources = {
        entry.name: entry
        for folder in ("common", template)
        for entry in (root / folder).iterdir()
        if entry.is_file()
    }
    values = _placeholders(name, template)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, source in sorted(sources.items()):
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        target = out / filename
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
