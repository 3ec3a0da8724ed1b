"""Importing the real benchmarks from ../shared as bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from runner.bundle.validate import validate_bundle
from tests.shared.sources import TASKS_WITH_DATA, import_bundles

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def sob_bundles(spaceomics_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("sob")
    corrected = import_bundles("spaceomicsbench", spaceomics_dir, out)
    published = import_bundles("spaceomicsbench", spaceomics_dir, out, "--as-published")
    return out, corrected.output + published.output


def test_every_task_with_data_imports_valid_in_both_variants(sob_bundles: tuple[Path, str]) -> None:
    out, _ = sob_bundles
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert names == sorted(
        f"spaceomicsbench-v2.1-{t}@{v}"
        for t in TASKS_WITH_DATA
        for v in ("as-published", "corrected")
    )
    for name in names:
        assert validate_bundle(out / name) == [], name
        spec = yaml.safe_load((out / name / "bundle.yaml").read_text())
        assert spec["benchmark"]["variant"] in ("as-published", "corrected")
        assert spec["source_files"], name  # what it was built from, with hashes


def test_absent_sources_are_reported_not_faked(sob_bundles: tuple[Path, str]) -> None:
    _, output = sob_bundles
    assert "B1: source file missing: cfrna_3group_de_noleak.csv; skipped" in output
    for task in ("F1", "F2", "F3"):
        assert f"{task}: source file missing: microbiome_human_taxonomy_cpm.csv; skipped" in output


def test_variants_differ_exactly_where_upstream_relies_on_position(
    sob_bundles: tuple[Path, str],
) -> None:
    out, _ = sob_bundles
    differing = []
    for task in TASKS_WITH_DATA:
        folds = out / f"spaceomicsbench-v2.1-{task}@corrected" / "folds"
        for x in sorted(folds.rglob("X.csv")):
            published = (
                out
                / f"spaceomicsbench-v2.1-{task}@as-published"
                / x.relative_to(out / f"spaceomicsbench-v2.1-{task}@corrected")
            )
            if x.read_bytes() != published.read_bytes():
                differing.append(task)
                break
    assert differing == ["F4", "F5", "G1"]


def test_import_is_deterministic(spaceomics_dir: Path, genelab_dir: Path, tmp_path: Path) -> None:
    """With the organizer's --salt-key (without it each salt is random: tests/shared/
    test_import_salts.py)."""
    key = tmp_path / "salt.key"
    key.write_bytes(b"the organizer's secret salt key")
    outputs = []
    for run in ("first", "second"):
        sob = import_bundles(
            "spaceomicsbench",
            spaceomics_dir,
            tmp_path / run,
            *("--tasks", "A1,D1,G1", "--salt-key", str(key)),
        )
        gl = import_bundles(
            "genelab", genelab_dir, tmp_path / run, "--tasks", "A4,B5", "--salt-key", str(key)
        )
        outputs.append(sorted(line.split()[-1] for line in (sob.stdout + gl.stdout).splitlines()))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 5


def test_genelab_bundles(genelab_dir: Path, tmp_path: Path) -> None:
    result = import_bundles("genelab", genelab_dir, tmp_path)
    assert "A4: fold_RR-23_holdout skipped: no score file RR-23_gsva_hallmark.csv" in result.output
    folds = 0
    for bundle in sorted(tmp_path.iterdir()):
        assert validate_bundle(bundle) == [], bundle
        spec = yaml.safe_load((bundle / "bundle.yaml").read_text())
        if spec["benchmark"]["task_id"].startswith("A"):
            folds += len(spec["folds"])
            assert spec["split"] == {
                "kind": "leave-one-group-out",
                "group": "mission",
                "description": "",
            }
        header = (
            (bundle / "folds" / spec["folds"][0] / "train" / "X.csv").read_text().splitlines()[0]
        )
        assert len(header.split(",")) == 51  # id + the 50 Hallmark gene sets
        meta = (
            (bundle / "folds" / spec["folds"][0] / "test" / "meta.csv").read_text().splitlines()[0]
        )
        assert "label" not in meta.split(",")  # the label column of the source metadata is dropped
    assert folds == 22


def test_gene_level_says_what_is_absent(genelab_dir: Path, tmp_path: Path) -> None:
    result = import_bundles(
        "genelab", genelab_dir, tmp_path, "--level", "gene", "--tasks", "A2", exit_code=1
    )
    assert "A2: gene-level features absent:" in result.output
    assert "train_X.csv (the public fold package does not ship them); skipped" in result.output
