"""Exit codes and the one place where errors become messages.

Exit codes: 0 success; 1 a fold was not ok, or a bundle has problems; 2 the command line or
its inputs are wrong (bad option, unloadable bundle, missing image); 3 the infrastructure
failed (engine, storage); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

import typer
from rich.console import Console

from runner.errors import (
    AirlockError,
    BundleError,
    Cancelled,
    EngineUnavailable,
    ImageUnavailable,
    InfraError,
    UsageError,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_INTERRUPTED = 130


def output_console(*, stderr: bool = False, quiet: bool = False) -> Console:
    """A rich console; wide when writing to a file or CI log, so tables stay readable;
    silent with ``quiet`` (errors are printed by :func:`fail`, not through it)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160, quiet=quiet)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"airlock: error: {message}", err=True)
    return typer.Exit(code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn Airlock's errors into one line on stderr and the documented exit code."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except (UsageError, BundleError, ImageUnavailable) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except EngineUnavailable as exc:
        raise fail(f"{exc} (`airlock doctor` says what to do)", EXIT_INFRA) from None
    except InfraError as exc:
        raise fail(str(exc), EXIT_INFRA) from None
    except (Cancelled, KeyboardInterrupt):
        typer.echo("airlock: interrupted; containers removed, no partial result written", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except AirlockError as exc:
        raise fail(str(exc), EXIT_FAILED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.stderr.flush()
