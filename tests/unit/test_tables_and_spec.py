from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from runner.bundle.spec import BundleSpec, parse_bytes
from runner.bundle.tables import numeric_matrix, read_table


def _csv(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_missing_cells_become_nan_and_infinity_is_refused(tmp_path: Path) -> None:
    table, problems = read_table(_csv(tmp_path, "id,a,b\ns1,1.5,\ns2,NA,2\ns3,inf,3\n"))
    assert problems == [] and table is not None
    values, cell_problems = numeric_matrix(table)
    assert np.isnan(values[0, 1]) and np.isnan(values[1, 0])
    assert [str(p) for p in cell_problems] == [
        f"{tmp_path / 't.csv'}, line 4, column 'a': expected a finite number, found 'inf'"
    ]


def test_short_rows_are_never_padded(tmp_path: Path) -> None:
    table, problems = read_table(_csv(tmp_path, "id,a,b\ns1,1\ns2,1,2\n"))
    assert table is not None and table.ids == ["s2"]
    assert [p.line for p in problems] == [2]


def test_not_utf8_and_empty_and_missing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,a\n\xff\xfe,1\n")
    assert "not UTF-8" in str(read_table(bad)[1][0])
    assert "file is empty" in str(read_table(_csv(tmp_path, "", "empty.csv"))[1][0])
    assert "file is missing" in str(read_table(tmp_path / "nope.csv")[1][0])


def test_ids_with_spaces_are_refused(tmp_path: Path) -> None:
    _, problems = read_table(_csv(tmp_path, "id,a\n s1,1\n"))
    assert "empty or has spaces" in str(problems[0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512MiB", 512 * 2**20), ("2g", 2 * 2**30), ("1.5GiB", int(1.5 * 2**30)), (1024, 1024)],
)
def test_parse_bytes(text: str | int, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1", "5 parsecs", 0])
def test_parse_bytes_refuses_nonsense(text: str | int) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_bytes(text)


BASE = {
    "id": "t",
    "title": "t",
    "task_type": "binary",
    "classes": ["a", "b"],
    "positive_class": "b",
    "metrics": {"primary": "auroc"},
    "split": {"kind": "kfold"},
    "folds": ["f1"],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"positive_class": "c"}, "positive_class 'c' is not one of"),
        ({"positive_class": None}, "must name its positive_class"),
        ({"classes": ["a", "b", "c"]}, "exactly 2 classes"),
        ({"folds": ["f1", "f1"]}, "folds lists 'f1' twice"),
        ({"metrics": {"primary": "micro_f1"}}, "not available for binary"),
        ({"id": "has space"}, "should match pattern"),
        ({"task_type": "multilabel", "classes": [], "positive_class": None}, "label names"),
        ({"resources": {"memory": "lots"}}, "expected a size"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_spec_rules(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BundleSpec.model_validate({**BASE, **change})
