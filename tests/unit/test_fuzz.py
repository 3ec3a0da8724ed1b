"""Fuzzing the inputs a hostile or careless party controls: bundle files, protocol lines,
prediction files. Every case ends in a result or a precise one-line problem, never a
traceback (over 1,000 generated examples in all)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from runner.bundle.labels import parse_labels
from runner.bundle.spec import BundleSpec
from runner.bundle.tables import numeric_matrix, read_table
from runner.cli import app
from runner.errors import SubmissionFault
from runner.protocol.channel import Channel
from runner.protocol.messages import MessageError, ReplyBudget, decode
from runner.suites.genelab import check_submission
from tests.helpers import SAMPLES
from tests.unit.test_protocol import ScriptedSandbox

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
cells = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["", "NA", "NaN", "nan", "inf", "-inf", "1e309", "0x10", " 1", "1,5", '"', '""', "\r", "é"]
    ),
    st.floats(allow_nan=True).map(repr),
)
csv_text = st.lists(st.lists(cells, min_size=0, max_size=5), max_size=8).map(
    lambda rows: "\n".join(",".join(r) for r in rows)
)
encodings = st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"])

SPEC = BundleSpec.model_validate(
    {"id": "f", "title": "f", "task_type": "multiclass", "classes": ["a", "b", "c"],
     "metrics": {"primary": "macro_f1"}, "split": {"kind": "kfold"}, "folds": ["x"]}
)  # fmt: skip


def _one_line(problems: list[Any]) -> None:
    for problem in problems:
        text = str(problem)
        assert text
        assert "\n" not in text.rstrip("\n"), text


@FUZZ
@given(text=csv_text, encoding=encodings, raw=st.binary(max_size=200), use_raw=st.booleans())
def test_tables_never_crash(
    tmp_path: Path, text: str, encoding: str, raw: bytes, use_raw: bool
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(raw if use_raw else text.encode(encoding, errors="replace"))
    table, problems = read_table(path)
    _one_line(problems)
    if table is not None:
        _, cell_problems = numeric_matrix(table)
        _one_line(cell_problems)
        if len(table.header) >= 2:
            _, label_problems = parse_labels(table, SPEC)
            _one_line(label_problems)


message_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=10)
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
typed = st.fixed_dictionaries(
    {"type": st.sampled_from(["ready", "fitted", "predictions", "error", "hello", "nonsense"])},
    optional={"protocol": message_values, "batch": message_values, "ids": message_values,
              "proba": message_values, "labels": message_values, "message": message_values, "name": message_values},
)  # fmt: skip


@FUZZ
@given(
    value=st.one_of(typed, message_values),
    cut=st.integers(0, 400),
    junk=st.binary(max_size=50),
    mode=st.integers(0, 2),
)
def test_protocol_lines_never_crash(value: Any, cut: int, junk: bytes, mode: int) -> None:
    line = json.dumps(value, allow_nan=True).encode()
    line = [line, line[:cut], junk + line][mode]  # whole, truncated, or behind garbage
    try:
        decode(line)
    except MessageError as exc:
        _one_line([exc, exc.public])


@FUZZ
@given(chunks=st.lists(st.binary(max_size=300), max_size=6), limit=st.integers(10, 400))
def test_channel_never_crashes_on_any_byte_stream(chunks: list[bytes], limit: int) -> None:
    channel = Channel(ScriptedSandbox(chunks))
    budget = ReplyBudget(limit, 64, "predictions")
    for _ in range(4):
        try:
            channel.receive(phase="fit", deadline=time.monotonic() + 1, limit=1, budget=budget)
        except SubmissionFault as fault:
            _one_line([fault, fault.public])
            return


@FUZZ
@given(
    document=st.one_of(
        typed,
        message_values,
        st.fixed_dictionaries(
            {"task_id": st.just("A9"), "model_name": message_values, "predictions": message_values}
        ),
    )
)
def test_genelab_submissions_never_crash(tmp_path: Path, document: Any) -> None:
    tasks = tmp_path / "tasks"
    unit = tasks / "A9_demo" / "fold_M1_test"
    if not unit.exists():
        unit.mkdir(parents=True)
        (unit / "test_y.csv").write_text(",0\ns1,1.0\ns2,0.0\n")
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps(document, allow_nan=True))
    checked = check_submission(submission, tasks)
    _one_line(checked.problems)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.sampled_from(["bundle.yaml", "MANIFEST.sha256", "folds/crew_C1/train/X.csv", "folds/crew_C1/train/y.csv",
                            "folds/crew_C2/test/meta.csv", "sealed/crew_C3/y.csv", "sealed/SALT"]),
    payload=st.one_of(st.binary(max_size=300), csv_text.map(str.encode)),
    keep=st.integers(0, 2000),
)  # fmt: skip
def test_bundle_validate_never_prints_a_traceback(
    tmp_path: Path, target: str, payload: bytes, keep: int
) -> None:
    bundle = tmp_path / "bundle"
    if bundle.exists():
        shutil.rmtree(bundle)
    shutil.copytree(SAMPLES / "synth-loco-3class", bundle)
    path = bundle / target
    path.write_bytes(path.read_bytes()[:keep] + payload)  # truncated and/or garbage appended
    result = CliRunner().invoke(app, ["bundle", "validate", str(bundle)])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "text", ["", "\x00\x01", "id\n", "id,a\n1", "a,b\n1,2,3\n", "\ufeffid,a\nx,1\n"]
)
def test_table_edge_cases_are_problems_or_tables(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    table, problems = read_table(path)
    _one_line(problems)
    assert table is not None or problems
