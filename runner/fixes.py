"""What a participant should do about each fold status: one line each, shown after a run.

docs/errors.md explains every status at length; a test keeps the two in step.
"""

from __future__ import annotations

from runner.verdict import Status

FIXES: dict[Status, str] = {
    Status.TIMEOUT: "make the named phase faster or lighter (fewer trees, fewer features, "
    "n_jobs at the CPU limit); time a local run with --command first",
    Status.OOM: "keep peak memory under the limit: float32 arrays, fewer copies, smaller "
    "models; /tmp counts against memory too; try --memory lower to reproduce",
    Status.CRASHED: "read the stderr lines shown above (dry runs) or your log file; reproduce "
    "with `airlock run --command` on the same bundle",
    Status.PROTOCOL_ERROR: "stdout is for protocol messages only: send logs and library "
    "banners to stderr, one JSON message per line, flush after each (docs/protocol.md)",
    Status.INVALID_PREDICTIONS: "answer every test id exactly once, with one probability "
    "or label per id in the task's order (docs/protocol.md, predictions)",
    Status.INFRA_ERROR: "not your fault: the runner's machine failed; run again, and tell "
    "the organizers if it persists (`airlock doctor` shows what is wrong locally)",
}


def fix_for(status: Status) -> str | None:
    """The one-line fix for a failed status; None for ok."""
    return FIXES.get(status)
