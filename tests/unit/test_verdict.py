from __future__ import annotations

import pytest

from runner.errors import PhaseTimeout, ProtocolViolation, StreamClosed, SubmissionReportedError
from runner.reasons import matches_a_template, public
from runner.verdict import Evidence, Status, decide

TIMEOUT = PhaseTimeout(
    "fit phase exceeded its 2 s limit",
    phase="fit",
    public=public("timeout", phase="fit", limit="2"),
    limit_seconds=2,
)
CLOSED = StreamClosed(
    "stdout closed during fit", phase="fit", public=public("stdout_closed", phase="fit")
)
JUNK = ProtocolViolation(
    "stdout line is not JSON: hi", phase="handshake", public=public("not_json", phase="handshake")
)
REPORTED = SubmissionReportedError(
    "reported an error during fit: boom", phase="fit", public=public("reported_error", phase="fit")
)


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
    if status not in (Status.OK, Status.INFRA_ERROR, Status.INVALID_PREDICTIONS):
        assert matches_a_template(verdict.public_reason), verdict.public_reason


def test_public_reasons_hold_no_quantity_the_submission_chose() -> None:
    # Its exit code and signal are its choice: the public reason names neither.
    for code in (3, 77, 139, 255):
        verdict = decide(Evidence(fault=CLOSED, exit_code=code))
        assert str(code) not in verdict.public_reason
        assert str(code - 128) not in verdict.public_reason or code <= 128
        assert matches_a_template(verdict.public_reason)


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
    # Its peak memory and run time are its choice: the public reason keeps the limit only.
    assert timeout.public_reason == "fit phase exceeded its 2 s limit"
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
