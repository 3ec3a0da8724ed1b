from __future__ import annotations

import pytest

from runner.errors import PhaseTimeout, ProtocolViolation, StreamClosed, SubmissionReportedError
from runner.verdict import Evidence, Status, decide

TIMEOUT = PhaseTimeout("fit phase exceeded its 2 s limit", phase="fit", limit_seconds=2)
CLOSED = StreamClosed("stdout closed during fit", phase="fit")
JUNK = ProtocolViolation("stdout line is not JSON: hi", phase="handshake")
REPORTED = SubmissionReportedError("reported an error during fit: boom", phase="fit")


@pytest.mark.parametrize(
    ("evidence", "status", "reason"),
    [
        (Evidence(), Status.OK, ""),
        (
            Evidence(infra_error="engine gone", fault=CLOSED, oom_killed=True),
            Status.INFRA_ERROR,
            "engine gone",
        ),
        (
            Evidence(fault=CLOSED, exit_code=137, oom_killed=True, memory_limit_bytes=2**27),
            Status.OOM,
            "more than 128 MiB of memory during fit",
        ),
        (Evidence(fault=TIMEOUT, oom_killed=True), Status.OOM, "memory"),
        (
            Evidence(fault=TIMEOUT, killed_by_runner=True),
            Status.TIMEOUT,
            "fit phase exceeded its 2 s limit",
        ),
        (Evidence(fault=REPORTED, exit_code=1), Status.CRASHED, "boom"),
        (Evidence(fault=CLOSED, exit_code=3), Status.CRASHED, "exited with exit code 3 during fit"),
        (Evidence(fault=CLOSED, exit_code=139), Status.CRASHED, "killed by signal 11 during fit"),
        (
            Evidence(fault=CLOSED, exit_code=0),
            Status.PROTOCOL_ERROR,
            "exited with code 0 during fit",
        ),
        (
            Evidence(fault=CLOSED, killed_by_runner=True),
            Status.PROTOCOL_ERROR,
            "closed stdout during fit but kept running",
        ),
        (Evidence(fault=JUNK), Status.PROTOCOL_ERROR, "not JSON"),
        (
            Evidence(prediction_problem="1 of 7 test ids have no prediction"),
            Status.INVALID_PREDICTIONS,
            "1 of 7",
        ),
    ],
)
def test_decide(evidence: Evidence, status: Status, reason: str) -> None:
    verdict = decide(evidence)
    assert verdict.status is status
    assert reason in verdict.reason


def test_oom_is_never_hidden_behind_an_ok_looking_symptom() -> None:
    # The kernel killed a child for memory but the fold still completed: the fold is ok.
    assert decide(Evidence(oom_killed=True)).status is Status.OK


def test_timeout_and_oom_reasons_carry_the_runner_s_measurements() -> None:
    timeout = decide(
        Evidence(
            fault=TIMEOUT,
            killed_by_runner=True,
            phase_seconds=2.04,
            peak_memory_bytes=300 * 2**20,
        )
    )
    assert timeout.reason == "fit phase exceeded its 2 s limit (ran 2.0 s, peak memory 300 MiB)"
    assert timeout.public_reason == timeout.reason  # the runner's figures, nothing of theirs
    oom = decide(
        Evidence(
            fault=CLOSED,
            exit_code=137,
            oom_killed=True,
            memory_limit_bytes=2**27,
            peak_memory_bytes=2**27,
        )
    )
    assert oom.reason == (
        "killed for using more than 128 MiB of memory during fit (peak measured 128 MiB)"
    )
