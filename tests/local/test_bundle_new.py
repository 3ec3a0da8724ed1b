"""`airlock bundle new`: CSVs and a small YAML become a valid bundle with the test labels
kept apart; every bad source is one precise line and nothing is written."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from runner.bundle.load import load_bundle
from runner.bundle.validate import validate_bundle
from tests.helpers import REPO, run_airlock

EXAMPLE = REPO / "docs" / "examples" / "bundle-new"
MAJORITY = REPO / "sample_submissions" / "majority"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the documented example (safe to edit)."""
    target = tmp_path / "source"
    shutil.copytree(EXAMPLE, target)
    return target


def _edit_config(source: Path, **changes: object) -> Path:
    config = source / "new.yaml"
    raw = yaml.safe_load(config.read_text())
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    config.write_text(yaml.safe_dump(raw))
    return config


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_the_documented_example_becomes_a_valid_bundle_that_runs(tmp_path: Path) -> None:
    out, sealed = tmp_path / "bundles" / "example", tmp_path / "organizer" / "example-labels"
    done = run_airlock(
        "bundle", "new", str(EXAMPLE / "new.yaml"), "--out", str(out), "--sealed-out", str(sealed)
    )
    assert done.returncode == 0, done.stderr
    assert validate_bundle(out, sealed) == []
    assert not (out / "sealed").exists()  # the test labels are only in the sealed directory
    bundle = load_bundle(out)
    assert bundle.spec.folds == ["mission_RR-1", "mission_RR-3", "mission_RR-6"]
    assert set(bundle.spec.source_files) == {"new.yaml", "features.csv", "labels.csv", "meta.csv"}
    # Every sample is a test sample exactly once, with its values exactly as given.
    source = {row[0]: row[1:] for row in _rows(EXAMPLE / "features.csv")[1:]}
    tested: list[str] = []
    for fold in bundle.spec.folds:
        for row in _rows(out / "folds" / fold / "test" / "X.csv")[1:]:
            assert row[1:] == source[row[0]]
            tested.append(row[0])
        train_ids = {row[0] for row in _rows(out / "folds" / fold / "train" / "y.csv")[1:]}
        assert train_ids.isdisjoint(row[0] for row in _rows(sealed / fold / "y.csv")[1:])
    assert sorted(tested) == sorted(source)
    assert f"--sealed {sealed}" in done.stdout

    results = tmp_path / "results"
    ran = run_airlock(
        "run", "--command", f"{sys.executable} model.py", "--workdir", str(MAJORITY),
        "--bundle", str(out), "--sealed", str(sealed), "--results", str(results),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (result,) = [json.loads(p.read_text()) for p in results.glob("*/*/result.json")]
    assert result["aggregate"]["n_scored"] == 3


def test_given_train_and_test_files_make_one_holdout_fold(example: Path, tmp_path: Path) -> None:
    features = _rows(example / "features.csv")
    for part, rows in (("train", features[:21]), ("test", [features[0], *features[21:]])):
        with (example / f"{part}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)
    tables = {"labels": "labels.csv", "meta": "meta.csv"}
    config = _edit_config(
        example,
        data=None,
        split=None,
        train={"features": "train.csv", **tables},
        test={"features": "test.csv", **tables},
    )
    # The label and meta files hold every id; each side takes the rows of its features.
    done = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    bundle = load_bundle(tmp_path / "b")
    assert bundle.spec.folds == ["holdout"]
    assert bundle.spec.split.kind == "predefined"
    assert len(_rows(tmp_path / "b" / "folds" / "holdout" / "test" / "X.csv")) == 1 + 10
    assert (tmp_path / "b.sealed" / "holdout" / "y.csv").is_file()


def test_kfold_and_repeated_holdout_are_stratified_and_seeded(
    example: Path, tmp_path: Path
) -> None:
    config = _edit_config(example, split={"kind": "kfold", "k": 3, "seed": 1})
    first = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "k1"))
    again = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "k2"))
    assert first.returncode == again.returncode == 0, first.stderr
    for fold in ("fold0", "fold1", "fold2"):
        one = _rows(tmp_path / "k1.sealed" / fold / "y.csv")
        assert one == _rows(tmp_path / "k2.sealed" / fold / "y.csv")  # same seed, same folds
        assert sorted(row[1] for row in one[1:]) == ["flight"] * 5 + ["ground"] * 5
    config = _edit_config(
        example, split={"kind": "repeated-holdout", "repeats": 2, "test_fraction": 0.2}
    )
    done = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert load_bundle(tmp_path / "r").spec.folds == ["rep0", "rep1"]


def _break(example: Path, name: str, line: int, column: int, value: str) -> None:
    rows = _rows(example / name)
    rows[line - 1][column] = value
    with (example / name).open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda s: _break(s, "features.csv", 4, 2, "abc"),
         "features.csv, line 4, column 'GENE02': expected a number, found 'abc'"),
        (lambda s: _break(s, "labels.csv", 5, 1, "space"),
         "labels.csv, line 5, column 'condition': expected one of ['flight', 'ground'], found 'space'"),
        (lambda s: _break(s, "labels.csv", 6, 0, "nobody"),
         "labels.csv: 1 feature ids are missing here: ['RR-1_04']"),
        (lambda s: _break(s, "meta.csv", 3, 0, "RR-1_00"),
         "meta.csv, line 3, column 'id': duplicate sample id 'RR-1_00' (first at line 2)"),
        (lambda s: _edit_config(s, split={"kind": "leave-one-group-out", "group": "crew"}),
         "split.group 'crew' is not a meta column ['mission', 'sex']"),
        (lambda s: _edit_config(s, split=None),
         "give either 'data' and 'split', or 'train' and 'test'"),
        (lambda s: _edit_config(s, positive_class="space"),
         "positive_class 'space' is not one of ['ground', 'flight']"),
        (lambda s: _edit_config(s, metrics={"primary": "r2"}), "r2"),
    ],
    ids=["non-number", "unknown-class", "missing-label", "duplicate-id", "no-group", "no-split",
         "bad-positive", "bad-metric"],
)  # fmt: skip
def test_bad_sources_get_one_line_each_and_nothing_is_written(
    breakage: object, message: str, example: Path, tmp_path: Path
) -> None:
    breakage(example)  # type: ignore[operator]
    out = tmp_path / "out"
    done = run_airlock("bundle", "new", str(example / "new.yaml"), "--out", str(out))
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert not (tmp_path / "out.sealed").exists()


def test_an_existing_bundle_is_never_replaced_without_force(tmp_path: Path) -> None:
    out = tmp_path / "b"
    out.mkdir()
    (out / "keep").write_text("mine")
    done = run_airlock("bundle", "new", str(EXAMPLE / "new.yaml"), "--out", str(out))
    assert done.returncode == 2
    assert "already exists; choose another path or add --force" in done.stderr
    assert (out / "keep").read_text() == "mine"
    forced = run_airlock("bundle", "new", str(EXAMPLE / "new.yaml"), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (out / "keep").exists()
