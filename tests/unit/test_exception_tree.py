"""One exception tree, drawn in ``runner/errors.py``: every exception class defined anywhere
in ``runner/`` descends from one of its two roots and appears in the drawing, so a reader of
that docstring sees every error Airlock can raise."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import runner
from runner import errors

SKIPPED = ("runner.__main__", "runner.scaffold.templates", "runner.competition.migrations")


def _exception_classes() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(runner.__path__, "runner."):
        if info.name.startswith(SKIPPED):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_the_walk_finds_exceptions_outside_errors_py() -> None:
    found = _exception_classes()
    assert "runner.errors.AirlockError" in found
    assert "runner.predictions.InvalidPredictions" in found
    assert "runner.competition.service.QuotaExceeded" in found


def test_every_exception_class_belongs_to_the_drawn_tree() -> None:
    drawn = set(re.findall(r"^\s*(?:[│├└─ ]*)(\w+)\s{2,}", errors.__doc__ or "", re.MULTILINE))
    report = []
    for where, cls in sorted(_exception_classes().items()):
        if not issubclass(cls, errors.AirlockError | errors.Signal):
            report.append(f"{where}: descends from neither AirlockError nor Signal")
        if cls.__name__ not in drawn:
            report.append(f"{where}: not drawn in runner/errors.py's docstring")
    assert not report, "\n".join(report)


def test_signals_are_not_user_messages() -> None:
    """An internal signal caught as a user-facing error would print its raw text."""
    assert not issubclass(errors.Signal, errors.AirlockError)
    assert not issubclass(errors.StreamSignal, errors.AirlockError)
