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

from runner.bundle import manifest
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


# --- one table, its columns' roles named in the YAML --------------------------------------

ONE_TABLE = EXAMPLE / "one-table.yaml"


def test_the_one_table_example_makes_the_bundle_of_the_several_files(tmp_path: Path) -> None:
    """docs/examples/bundle-new/one-table.yaml: samples.csv holds the columns of
    features.csv, labels.csv and meta.csv; the folds come out byte for byte the same."""
    one, sealed = tmp_path / "one", tmp_path / "one-labels"
    done = run_airlock("bundle", "new", str(ONE_TABLE), "--out", str(one), "--sealed-out", str(sealed))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # every column has a role: nothing left out, no warning
    checked = run_airlock("bundle", "validate", str(one), "--sealed", str(sealed), "--json")
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout) == {
        "ok": True,
        "bundles": [{"path": str(one), "ok": True, "problems": []}],
    }
    several = tmp_path / "several"
    assert run_airlock("bundle", "new", str(EXAMPLE / "new.yaml"), "--out", str(several)).returncode == 0  # fmt: skip
    files = sorted(p.relative_to(several) for p in (several / "folds").rglob("*") if p.is_file())
    assert len(files) == 3 * 5  # per fold: train X, y, meta; test X, meta
    for name in files:
        assert (one / name).read_bytes() == (several / name).read_bytes(), name
    for fold in ("mission_RR-1", "mission_RR-3", "mission_RR-6"):
        assert (sealed / fold / "y.csv").read_bytes() == (
            tmp_path / "several.sealed" / fold / "y.csv"
        ).read_bytes()
    spec = load_bundle(one).spec
    assert (spec.split.kind, spec.split.group) == ("leave-one-group-out", "mission")
    assert set(spec.source_files) == {"one-table.yaml", "samples.csv"}


def _one_table(
    source: Path, rows: list[list[str]], config: dict[str, object], name: str = "t.yaml"
) -> Path:
    with (source / "all.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    base = {
        "id": "one-table", "title": "One table", "synthetic": True, "task_type": "binary",
        "classes": ["ground", "flight"], "positive_class": "flight",
        "metrics": {"primary": "auroc"}, "table": "all.csv", "label": "condition",
        "split": {"kind": "kfold", "k": 3},
    }  # fmt: skip
    base.update(config)
    path = source / name
    path.write_text(yaml.safe_dump({k: v for k, v in base.items() if v is not None}))
    return path


def _example_table(example: Path) -> list[list[str]]:
    """The example's columns in one table, a text column without a role added (batch)."""
    features, labels, meta = (_rows(example / f"{n}.csv") for n in ("features", "labels", "meta"))
    return [
        [f[0], f[1], "batch" if i == 0 else f"b{i % 2}", *y[1:], *f[2:], *m[1:]]
        for i, (f, y, m) in enumerate(zip(features, labels, meta, strict=True))
    ]


def test_one_table_takes_every_other_numeric_column_and_warns_about_text(
    example: Path, tmp_path: Path
) -> None:
    rows = _example_table(example)
    config = _one_table(example, rows, {"meta": ["sex"]})
    out = tmp_path / "b"
    done = run_airlock("bundle", "new", str(config), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    bundle_hash = manifest.bundle_hash(out / manifest.MANIFEST_NAME)
    assert done.stdout == f"{out}  {bundle_hash}\n"  # --quiet: the result line only
    assert done.stderr == (
        f"airlock: warning: {example / 'all.csv'}, line 1: 2 column(s) hold text and have no role, so they "
        "are left out: ['batch', 'mission']; name them in meta: to give them to the "
        "submission, or in features: to have each cell checked as a number\n"
    )
    validated = run_airlock("bundle", "validate", str(out), "--sealed", str(tmp_path / "b.sealed"))
    assert validated.returncode == 0, validated.stdout
    header = _rows(out / "folds" / "fold0" / "train" / "X.csv")[0]
    assert header == ["id", "GENE01", "GENE02", "GENE03", "GENE04", "GENE05", "GENE06"]
    assert _rows(out / "folds" / "fold0" / "train" / "meta.csv")[0] == ["id", "sex"]
    # Named features are checked cell by cell: batch is text.
    config = _one_table(example, rows, {"features": ["GENE01", "batch"]})
    bad = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "c"))
    assert bad.returncode == 2
    assert "all.csv, line 2, column 'batch': expected a number, found 'b1'" in bad.stderr
    assert not (tmp_path / "c").exists()


def test_one_multilabel_table(example: Path, tmp_path: Path) -> None:
    features = _rows(example / "features.csv")
    rows = [["sample", "grp", "a", "b", *features[0][1:]]] + [
        [row[0], f"g{i % 3}", str(i % 2), str(i // 2 % 2), *row[1:]]
        for i, row in enumerate(features[1:])
    ]
    config = _one_table(
        example, rows,
        {"task_type": "multilabel", "classes": None, "positive_class": None, "label": None,
         "labels": ["a", "b"], "group": "grp", "metrics": {"primary": "micro_f1"},
         "split": {"kind": "leave-one-group-out"}},
    )  # fmt: skip
    out = tmp_path / "ml"
    done = run_airlock("bundle", "new", str(config), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert run_airlock("bundle", "validate", str(out), "--sealed", str(tmp_path / "ml.sealed")).returncode == 0  # fmt: skip
    spec = load_bundle(out).spec
    assert (spec.labels, spec.folds) == (["a", "b"], ["grp_g0", "grp_g1", "grp_g2"])
    assert _rows(tmp_path / "ml.sealed" / "grp_g0" / "y.csv")[:2] == [["id", "a", "b"], ["RR-1_00", "0", "0"]]  # fmt: skip
    assert _rows(out / "folds" / "grp_g0" / "test" / "meta.csv")[0] == ["id", "grp"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"label": "conditoin"},
         "all.csv, line 1: column 'conditoin' (label in t.yaml) is missing (did you mean 'condition'?)"),
        ({"features": ["GENE01", "condition"]},
         "t.yaml: column 'condition' is named by both label and features; give each column one role"),
        ({"label": None},
         "t.yaml: a binary table names its label column in 'label'"),
        ({"labels": ["condition"], "task_type": "multilabel", "classes": None, "positive_class": None},
         "t.yaml: a multilabel table names its label columns in 'labels: [...]'"),
        ({"split": {"kind": "leave-one-group-out"}},
         "t.yaml: split kind leave-one-group-out needs 'split.group' (a meta column) or 'group'"),
        ({"data": {"features": "features.csv", "labels": "labels.csv"}},
         "t.yaml: give either 'data' and 'split', or 'train' and 'test', or 'table' and 'split'"),
    ],
    ids=["missing-column", "two-roles", "no-label", "multilabel-label", "no-group", "two-sources"],
)  # fmt: skip
def test_one_table_mistakes_are_one_line_each(
    config: dict[str, object], message: str, example: Path, tmp_path: Path
) -> None:
    path = _one_table(example, _example_table(example), config)
    done = run_airlock("bundle", "new", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout
    message = message.replace("t.yaml:", f"{path}:").replace("all.csv,", f"{example}/all.csv,")
    assert done.stderr == f"airlock: error: {message}; nothing written, fix it and run again\n"
    assert not (tmp_path / "out").exists()


def test_an_unknown_key_names_its_line_and_the_nearest_valid_key(
    example: Path, tmp_path: Path
) -> None:
    config = example / "one-table.yaml"
    text = config.read_text()
    line = next(n for n, x in enumerate(text.splitlines(), 1) if x.startswith("label:"))
    config.write_text(text.replace("\nlabel: condition", "\nlable: condition"))
    done = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert done.stderr == (
        f"airlock: error: {config}, line {line}: unknown key 'lable' (did you mean "
        "'label'?); nothing written, fix it and run again\n"
    )
    # Nested keys, and several problems: one line each, then what to do.
    config.write_text(
        text.replace("  kind: leave", "  knd: leave").replace(
            "\npositive_class:", "\npositiv_class:"
        )
    )
    done = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert any("unknown key 'positiv_class' (did you mean 'positive_class'?)" in x for x in lines)
    assert any("unknown key 'split.knd' (did you mean 'split.kind'?)" in x for x in lines)
    assert all(x.startswith(f"airlock: error: {config}, line ") for x in lines[:-1])
    assert lines[-1] == (
        f"airlock: error: {config}: {len(lines) - 1} problems in the sources (above); "
        "nothing written, fix them and run again"
    )
    assert not (tmp_path / "o").exists()


def test_a_new_bundle_can_require_gvisor(example: Path, tmp_path: Path) -> None:
    config = _edit_config(example, isolation={"runtime": "runsc"})
    done = run_airlock("bundle", "new", str(config), "--out", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert load_bundle(tmp_path / "b").spec.required_runtime == "runsc"
    assert "isolation:\n  runtime: runsc" in (tmp_path / "b" / "bundle.yaml").read_text()
