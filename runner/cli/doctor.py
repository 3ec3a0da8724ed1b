"""``airlock doctor``: check this machine and say what to fix."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from runner.cli.errors import EXIT_FAILED

_MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def doctor(
    results: Annotated[
        str, typer.Option(help="The result store to check: a directory or s3://bucket/prefix.")
    ] = "results",
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check the Docker engine, isolation features, GPUs, disk, images and the result store.

    Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
    """
    from runner.doctor import diagnose

    findings = diagnose(results)
    failed = [f for f in findings if f.state == "fail"]
    if as_json:
        typer.echo(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        for finding in findings:
            typer.echo(f"{_MARK[finding.state]:<5} {finding.check:<10} {finding.detail}")
            if finding.fix and finding.state in ("fail", "warn"):
                typer.echo(f"{'':16}fix: {finding.fix}")
        if failed:
            typer.echo(f"{len(failed)} problem(s); fix them in the order shown")
        else:
            typer.echo("ready: nothing failed")
    if failed:
        raise typer.Exit(EXIT_FAILED)
