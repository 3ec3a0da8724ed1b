"""The one rule for what a submission writes: escaped and capped where it may appear, fixed
templates where the public sees a reason, coarse buckets where a sealed result shows a
figure, and a decoder that bounds a line before materialising it."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from runner import limits
from runner.protocol.messages import (
    CONTROL_BUDGET,
    MessageError,
    Predictions,
    decode,
    predictions_budget,
)
from runner.reasons import TEMPLATES, matches_a_template, public
from runner.results.model import FoldResources, FoldResult, PhaseUsage
from runner.sandbox.logs import LogCapture
from runner.schedule import FoldSchedule, fold_slot
from runner.sealing import FOLD_FIELDS, exit_class, one_two_five, seal_fold
from runner.untrusted import shown, shown_list
from runner.verdict import Status

HOSTILE_TEXT = [
    "\x1b]0;owned\x07",  # window title
    "\x1b[2J\x1b[H",  # clear screen
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 link
    "\x9b31m",  # 8-bit CSI
    "[/x] [bold red]markup[/]",
    "abc\u202edcba\u200b\ufeff",  # bidi override, zero width, BOM
    "line one\nline two\rthree",
]
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]")


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_shown_escapes_every_control_and_invisible_character(text: str) -> None:
    for data in (text, text.encode()):
        out = shown(data)
        assert not _CONTROL.search(out), out
        assert "\n" not in out


def test_shown_caps_and_says_how_much_there_was() -> None:
    out = shown(b"y" * 1_000_000, 100)
    assert len(out) < 140 and out.endswith("(1000000 bytes in all)")
    assert shown("\x1b" * 1000, 50).count("\\x1b") <= 50 // 4 + 1
    assert shown(b"\xff\xfe ok") == "\\xff\\xfe ok"
    long_ids = ["i" * 10_000] * 50
    assert len(shown_list(long_ids)) < 400


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000) | st.text(max_size=2000))
def test_shown_is_always_one_safe_bounded_line(data: bytes | str) -> None:
    out = shown(data, 120)
    assert not _CONTROL.search(out)
    assert len(out) <= 120 + 40


def test_every_template_renders_and_is_recognised() -> None:
    samples = {
        "phase": "fit",
        "limit": "15",
        "memory": "256 MiB",
        "depth": 8,
        "expected": "predictions",
        "digits": 20,
        "kind": "ready",
        "field": "ids",
        "batch": 3,
        "version": 1,
        "width": 3,
        "output": "class",
        "n_test": 32,
    }
    for name, template in TEMPLATES.items():
        wanted = re.findall(r"{(\w+)}", template)
        text = public(name, **{key: samples[key] for key in wanted})
        assert matches_a_template(text), (name, text)
    assert not matches_a_template("stdout line is not JSON (during fit): 'SECRET'")
    assert not matches_a_template("some of the SECRET test ids have no prediction")


def test_templates_refuse_anything_but_runner_values() -> None:
    with pytest.raises(ValueError, match="not one of"):
        public("not_json", phase="SECRET")
    with pytest.raises(ValueError, match="runner-chosen"):
        public("timeout", phase="fit", limit="SECRET")
    with pytest.raises(ValueError, match="takes"):
        public("not_json", phase="fit", extra="x")


# --- the decoder ---------------------------------------------------------------------------


def _reject(line: bytes, budget=CONTROL_BUDGET) -> MessageError:  # type: ignore[no-untyped-def]
    with pytest.raises(MessageError) as caught:
        decode(line, budget, "fit")
    assert matches_a_template(caught.value.public), caught.value.public
    assert len(str(caught.value)) < 600
    return caught.value


def test_an_unknown_tag_never_reaches_the_public_reason() -> None:
    secret = "y.csv:" + "s001,flight\n" * 80_000  # about 1 MB of training labels
    error = _reject(json.dumps({"type": secret}).encode(), predictions_budget(10**5, 10**6, 1))
    assert (
        error.public == "message type is not one of ready, fitted, predictions, error (during fit)"
    )
    assert "flight" not in error.public
    assert "s001" in str(error) and len(str(error)) < 400  # the dry-run reason: capped


def test_markup_and_escapes_in_a_tag_are_data() -> None:
    error = _reject(json.dumps({"type": "[/x]\x1b]0;t\x07"}).encode())
    assert "\x1b" not in str(error) and "\x07" not in str(error)


def test_a_huge_integer_is_a_protocol_error_not_a_crash() -> None:
    error = _reject(b'{"type":"ready","protocol":' + b"9" * 5000 + b"}")
    assert error.public == "stdout line holds an integer longer than 20 digits (during fit)"
    _reject(b'{"type":"predictions","batch":0,"ids":["a"],"labels":[[' + b"1" * 30 + b"]]}")


def test_deep_nesting_is_refused_before_parsing() -> None:
    error = _reject(b'{"type":"fitted","x":' + b"[" * 9 + b"]" * 9 + b"}")
    assert "nests deeper than 8" in error.public
    _reject(b"[" * 100_000)  # would be a RecursionError deep inside json


def test_more_values_than_the_message_needs_are_refused_before_parsing() -> None:
    budget = predictions_budget(10, 200, 1)
    padding = b",".join([b"0"] * (budget.max_values + 10))
    line = b'{"type":"predictions","batch":0,"ids":[],"pad":[' + padding + b"]}"
    error = _reject(line, budget)
    assert (
        error.public
        == "stdout line holds more values than a predictions message needs (during fit)"
    )


def test_numbers_inside_strings_and_floats_are_not_integers() -> None:
    long_id = "1" * 400
    line = json.dumps(
        {"type": "predictions", "batch": 0, "ids": [long_id], "proba": [0.12345678901234567890123]}
    ).encode()
    message = decode(line, predictions_budget(1, 500, 1), "predict")
    assert isinstance(message, Predictions) and message.ids == [long_id]


def test_prediction_budget_fits_an_honest_reply_and_not_much_more() -> None:
    ids = [f"sample-{i:06d}" for i in range(1000)]
    ids_bytes = len(json.dumps(ids, separators=(",", ":")))
    budget = predictions_budget(len(ids), ids_bytes, 16)
    proba = [[0.1234567890123456] * 16 for _ in ids]
    labels = [[1] * 16 for _ in ids]
    reply = json.dumps(
        {"type": "predictions", "batch": 0, "ids": ids, "proba": proba, "labels": labels}
    ).encode()
    assert len(reply) < budget.max_bytes < limits.MAX_MESSAGE_BYTES
    decode(reply, budget, "predict")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_no_bytes_make_the_decoder_raise_anything_else(line: bytes) -> None:
    public_reason = None
    try:
        decode(line, CONTROL_BUDGET, "fit")
    except MessageError as exc:
        public_reason = exc.public
    assert public_reason is None or matches_a_template(public_reason)


# --- sealed results ------------------------------------------------------------------------


def test_every_fold_result_field_has_a_sealing_rule() -> None:
    assert set(FOLD_FIELDS) == set(FoldResult.model_fields)


def test_one_two_five_buckets() -> None:
    assert [one_two_five(v) for v in (0.013, 0.4, 0.7, 1.4, 3.3, 14.9, 37, 740)] == [
        0.01,
        0.5,
        0.5,
        1.0,
        5.0,
        20.0,
        50.0,
        1000.0,
    ]
    assert one_two_five(0.0) == 0.0 and one_two_five(None) is None
    values = {one_two_five(x / 100) for x in range(1, 100_001)}
    assert len(values) <= 17  # 0.01 s .. 1000 s: about 4 bits
    assert [exit_class(c) for c in (None, 0, 1, 3, 77, 137, 139)] == [None, 0, 1, 1, 1, 137, 137]


def test_a_sealed_fold_keeps_no_exact_submission_controlled_figure() -> None:
    now = datetime(2026, 11, 30, 12, 34, 56, 789, tzinfo=UTC)
    exact = FoldResult(
        fold_id="f1",
        status=Status.CRASHED,
        reason="exited with exit code 77 during fit (SECRET)",
        phase="fit",
        n_test=10,
        resources=FoldResources(
            phases={
                "startup": PhaseUsage(wall_seconds=0.31),
                "handshake": PhaseUsage(wall_seconds=1.234, cpu_seconds=1.1, peak_memory_bytes=7),
                "fit": PhaseUsage(wall_seconds=3.21, cpu_seconds=3.1, peak_memory_bytes=12345678),
                "shutdown": PhaseUsage(wall_seconds=0.02),
            },
            wall_seconds=4.77,
            cpu_seconds=4.3,
            peak_memory_bytes=123_456_789,
            exit_code=77,
        ),
        started_at=now,
        finished_at=now,
        submission_name="SECRET",
        log_bytes=31337,
        log_file="logs/f1.stderr.log",
    )
    sealed = seal_fold(exact, public("exit_nonzero", phase="fit"))
    text = sealed.model_dump_json()
    for exact_value in ("SECRET", "77", "31337", "1.234", "3.21", "4.77", "123456789", ":56"):
        assert exact_value not in text, exact_value
    assert sealed.resources.phases.keys() == {"fit"}
    assert sealed.resources.exit_code == 1
    assert sealed.resources.peak_memory_bytes == 100 * 2**20
    assert sealed.started_at.second == 0 and sealed.log_file is None


# --- terminal output -----------------------------------------------------------------------


def test_stderr_tail_lines_are_escaped() -> None:
    log = LogCapture()
    log.write(b"fine\n\x1b]0;owned\x07\n" + b"z" * 5000 + b"\n")
    lines = log.tail_lines(3)
    assert lines[0] == "fine"
    assert lines[1] == "\\x1b]0;owned\\x07"
    assert len(lines[2]) < 340


def test_the_progress_line_prints_hostile_reasons_as_text() -> None:
    from runner.cli.progress import ProgressListener
    from runner.evaluate import FoldReport

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200)
    now = datetime.now(UTC)
    for text in HOSTILE_TEXT:
        fold = FoldResult(
            fold_id="f1",
            status=Status.PROTOCOL_ERROR,
            reason=shown(text),
            n_test=1,
            resources=FoldResources(phases={}, wall_seconds=1.0),
            started_at=now,
            finished_at=now,
            log_tail=[shown(text)],
        )
        ProgressListener(console).fold_finished("b", FoldReport(fold, None, ""))
    printed = buffer.getvalue()
    assert "[/x]" in printed  # shown literally, not taken as markup
    # Only rich's own colour codes (CSI ... m) may be there: no OSC, no clear screen.
    assert "\x1b]" not in printed and "\x1b[2J" not in printed and "\x9b" not in printed


# --- scheduling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "same_key", "overlap"),
    [
        (FoldSchedule.CONCURRENT, True, True),
        (FoldSchedule.ONE_PER_SUBMISSION, True, False),
        (FoldSchedule.ONE_PER_SUBMISSION, False, True),
        (FoldSchedule.ONE_PER_HOST, False, False),
    ],
)
def test_fold_slots(
    schedule: FoldSchedule,
    same_key: bool,
    overlap: bool,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRLOCK_LOCK_DIR", str(tmp_path))
    cancel = threading.Event()
    inside: list[int] = []
    most = [0]
    lock = threading.Lock()

    def fold(key: str) -> None:
        with fold_slot(schedule, key, cancel):
            with lock:
                inside.append(1)
                most[0] = max(most[0], len(inside))
            time.sleep(0.4)
            with lock:
                inside.pop()

    keys = ["sha256:a", "sha256:a" if same_key else "sha256:b"]
    threads = [threading.Thread(target=fold, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (most[0] == 2) is overlap


@pytest.mark.parametrize(
    "line",
    [
        b'{"type":"fitted","x":"' + b'\\"' * 32_000,  # unterminated, escapes all the way
        b'{"type":"fitted","x":"' + b'"\\"' * 21_000,
        b"[" + b'"",' * 21_000,
        b'{"type":"fitted","x":' + b"1" * 60_000 + b".5}",
    ],
)
def test_the_precheck_is_linear_whatever_the_line(line: bytes) -> None:
    """An unterminated string once made the string-blanking regex backtrack over the whole
    line from every quote: 15 s for one 64 KiB line, hours at the 16 MiB bound."""
    started = time.perf_counter()
    with contextlib.suppress(MessageError):
        decode(line, CONTROL_BUDGET, "fit")
    assert time.perf_counter() - started < 0.2


def test_a_flood_while_being_sent_a_message_is_a_protocol_error() -> None:
    from runner.errors import OutputTooLarge, ProtocolViolation
    from runner.protocol.channel import Channel
    from tests.unit.test_protocol import ScriptedSandbox

    class Flooding(ScriptedSandbox):
        def send(self, data: bytes, deadline: float) -> None:
            raise OutputTooLarge("more than 327680 bytes on stdout", head=b"AAAA", limit=327680)

    with pytest.raises(ProtocolViolation) as caught:
        Channel(Flooding([])).send(b"{}\n", phase="predict", deadline=time.monotonic() + 1, limit=1)
    assert caught.value.public == (
        "more than 327680 bytes on stdout without being asked during predict"
    )


def test_invisible_and_format_characters_beyond_the_usual_ones_are_escaped() -> None:
    text = "a\u115fb\u3164c\ufe0fd\u0600e\U0001d173f\u2066g"
    out = shown(text)
    for char in "\u115f\u3164\ufe0f\u0600\U0001d173\u2066":
        assert char not in out
    assert out.startswith("a\\u115fb") and "\\U0001d173" in out
    assert shown("é 中文 ü") == "é 中文 ü"  # letters are letters


def test_image_labels_are_allow_listed_escaped_and_capped() -> None:
    from runner.untrusted import shown_labels

    labels = {f"evil.{n}": "\x1b]0;PWNED\x07" * 1000 for n in range(500)}
    labels["io.airlock.versions"] = "numpy=1.24.2"
    labels["org.opencontainers.image.source"] = "\u202e[link=http://x]" + "y" * 10_000
    kept = shown_labels(labels)
    assert set(kept) == {"io.airlock.versions", "org.opencontainers.image.source"}
    assert kept["io.airlock.versions"] == "numpy=1.24.2"
    text = json.dumps(kept)
    assert len(text) < 1000 and "\u202e" not in text and "\x1b" not in text


def test_a_name_from_untrusted_input_stays_inside_its_folder() -> None:
    """Archive members (competition uploads) and stored artifact names (`airlock
    reproduce`) go through one check."""
    from runner.untrusted import stays_inside

    for name in ("predictions/f1.csv", "abc123/", "manifest.json", "blobs/sha256/ab"):
        assert stays_inside(name), name
    for name in ("", ".", "./", "/etc/passwd", "../x", "a/../b", "a/.."):
        assert not stays_inside(name), name
