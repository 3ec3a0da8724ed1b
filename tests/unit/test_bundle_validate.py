"""`airlock bundle validate` on deliberately broken copies of sample bundles: each problem
is one line naming the file, the line (row) and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from runner.bundle.validate import validate_bundle
from runner.cli import app
from tests.helpers import SAMPLES, copy_bundle

LOCO = "synth-loco-3class"


def _problems(bundle: Path) -> list[str]:
    return [str(p) for p in validate_bundle(bundle)]


def _rewrite_line(path: Path, line_number: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[line_number - 1] = new
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir()))
def test_committed_sample_bundles_are_valid(name: str) -> None:
    assert _problems(SAMPLES / name) == []


def test_duplicate_id_is_reported_with_file_and_line(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    x = bundle / "folds/crew_C1/train/X.csv"
    lines = x.read_text().splitlines()
    first_id = lines[1].split(",")[0]
    _rewrite_line(x, 4, ",".join([first_id, *lines[3].split(",")[1:]]))
    problems = _problems(bundle)
    assert any(
        "folds/crew_C1/train/X.csv, line 4, column 'id': duplicate sample id" in p
        and f"{first_id!r} (first at line 2)" in p
        for p in problems
    ), problems
    assert any("content does not match the manifest" in p for p in problems)


def test_missing_sealed_fold_is_reported(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    (bundle / "sealed/crew_C3/y.csv").unlink()
    problems = _problems(bundle)
    assert any(
        "sealed/crew_C3/y.csv: sealed labels of fold 'crew_C3' missing" in p for p in problems
    ), problems


def test_label_outside_classes_is_reported_with_line(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    y = bundle / "folds/crew_C2/train/y.csv"
    sample_id = y.read_text().splitlines()[5].split(",")[0]
    _rewrite_line(y, 6, f"{sample_id},in_flight")
    problems = _problems(bundle)
    assert any(
        "folds/crew_C2/train/y.csv, line 6, column 'label': label 'in_flight' is not one of "
        "the declared classes ['post_flight', 'pre_flight', 'recovery']" in p
        for p in problems
    ), problems


def test_tampered_file_is_reported(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    x = bundle / "folds/crew_C4/test/X.csv"
    x.write_text(x.read_text().replace(",", ",1", 1))
    problems = _problems(bundle)
    assert any(
        "folds/crew_C4/test/X.csv: content does not match the manifest" in p for p in problems
    ), problems


def test_tampered_sealed_labels_break_the_commitment(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    y = bundle / "sealed/crew_C1/y.csv"
    lines = y.read_text().splitlines()
    sample_id, label = lines[1].split(",")
    other = "recovery" if label != "recovery" else "pre_flight"
    _rewrite_line(y, 2, f"{sample_id},{other}")
    assert any("do not match the manifest commitment" in p for p in _problems(bundle))


def test_non_numeric_feature_and_ragged_row(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    x = bundle / "folds/crew_C1/train/X.csv"
    lines = x.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[3] = "high"
    _rewrite_line(x, 3, ",".join(cells))
    _rewrite_line(x, 5, ",".join(lines[4].split(",")[:-1]))
    problems = _problems(bundle)
    assert any(
        f"X.csv, line 3, column {header[3]!r}: expected a number, found 'high'" in p
        for p in problems
    ), problems
    assert any(
        f"X.csv, line 5: expected {len(header)} fields, found {len(header) - 1}" in p
        for p in problems
    ), problems


def test_leakage_and_column_mismatch_and_unlisted_file(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    train = (bundle / "folds/crew_C1/train/X.csv").read_text().splitlines()
    test_x = bundle / "folds/crew_C1/test/X.csv"
    test_lines = test_x.read_text().splitlines()
    test_lines[1] = train[1]
    test_x.write_text("\n".join(test_lines) + "\n")
    (bundle / "folds/crew_C1/train/notes.txt").write_text("hello")
    problems = _problems(bundle)
    assert any("test ids are also training ids" in p for p in problems), problems
    assert any("notes.txt: file is not listed in the manifest" in p for p in problems), problems


def test_cli_validate_exit_code_and_one_line_per_problem(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    (bundle / "sealed/crew_C3/y.csv").unlink()
    result = CliRunner().invoke(app, ["bundle", "validate", str(bundle), str(SAMPLES / LOCO)])
    assert result.exit_code == 1
    assert "sealed labels of fold 'crew_C3' missing" in result.stdout
    assert all("Traceback" not in line for line in result.output.splitlines())
    ok = CliRunner().invoke(app, ["bundle", "validate", str(SAMPLES / LOCO)])
    assert ok.exit_code == 0, ok.output


def test_broken_yaml_is_one_line_with_position(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    (bundle / "bundle.yaml").write_text("id: x\ntitle: [unclosed\n")
    problems = _problems(bundle)
    assert any("bundle.yaml" in p and "not valid YAML" in p for p in problems), problems


def test_schema_errors_name_the_field(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    text = (bundle / "bundle.yaml").read_text().replace("primary: macro_f1", "primary: auroc")
    (bundle / "bundle.yaml").write_text(text)
    problems = _problems(bundle)
    assert any("metric 'auroc' is not available for multiclass tasks" in p for p in problems)
