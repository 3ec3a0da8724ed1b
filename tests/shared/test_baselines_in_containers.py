"""The published baselines, reproduced through sealed containers on the imported bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.results.store import LocalResultStore
from runner.run import RunRequest, SuiteRunner
from runner.sandbox.docker.sandbox import DockerProvider
from runner.suites.report import baselines_markdown
from tests.shared.sources import TASKS_WITH_DATA, import_bundles

pytestmark = [pytest.mark.shared_data, pytest.mark.docker]

SPEC_CORRECTED = {"F4": 0.3992, "F5": 0.3591, "G1": 0.4171}


@pytest.fixture(scope="module")
def suites(
    spaceomics_dir: Path,
    genelab_dir: Path,
    docker_client: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    root = tmp_path_factory.mktemp("suites")
    import_bundles("spaceomicsbench", spaceomics_dir, root / "sob", "--as-published")
    import_bundles("spaceomicsbench", spaceomics_dir, root / "sob", "--tasks", "F4,F5,G1")
    import_bundles("genelab", genelab_dir, root / "genelab", "--tasks", "A1,A2,A3,A4,A5,A6")
    store = LocalResultStore(root / "results")
    provider = DockerProvider()
    SuiteRunner(provider, store).run(
        RunRequest("airlock/sample-logreg", sorted((root / "sob").iterdir()), jobs=2)
    )
    SuiteRunner(provider, store).run(
        RunRequest("airlock/sample-pca-lr", sorted((root / "genelab").iterdir()), jobs=2)
    )
    return root


def _by_bundle(root: Path) -> dict[str, Any]:
    return {r.provenance.bundle_id: r for r in LocalResultStore(root / "results").results()}


def test_logreg_matches_the_published_spaceomicsbench_baselines(
    suites: Path, spaceomics_dir: Path
) -> None:
    published = json.loads((spaceomics_dir / "baselines" / "baseline_results.json").read_text())
    results = _by_bundle(suites)
    worst = 0.0
    for task in TASKS_WITH_DATA:
        result = results[f"spaceomicsbench-v2.1-{task}@as-published"]
        assert result.aggregate.complete, (task, [f.reason for f in result.folds])
        key = "multilabel_logreg" if task == "B2" else "logreg"
        reference = published[task][key][result.primary_metric]["mean"]
        assert result.aggregate.mean == pytest.approx(reference, abs=0.02), task
        worst = max(worst, abs(result.aggregate.mean - reference))
        assert "scikit-learn==1.9.1" in result.provenance.image_labels["io.airlock.versions"]
    assert worst < 0.0015  # in practice the same to 3 decimals


def test_corrected_variants_differ_where_the_spec_says(suites: Path) -> None:
    results = _by_bundle(suites)
    for task, expected in SPEC_CORRECTED.items():
        corrected = results[f"spaceomicsbench-v2.1-{task}@corrected"].aggregate.mean
        published = results[f"spaceomicsbench-v2.1-{task}@as-published"].aggregate.mean
        assert corrected == pytest.approx(expected, abs=0.0015), task
        assert abs(corrected - published) > 0.05, task


def test_genelab_hallmark_pca_lr_matches_every_published_fold(
    suites: Path, genelab_dir: Path
) -> None:
    results = _by_bundle(suites)
    checked = 0
    for task, tissue in (
        ("A1", "liver"),
        ("A2", "gastrocnemius"),
        ("A3", "kidney"),
        ("A4", "thymus"),
        ("A5", "skin"),
        ("A6", "eye"),
    ):
        reference = json.loads(
            (genelab_dir / "evaluation" / f"{task}_pathway_hallmark_results.json").read_text()
        )["pca_lr"]["folds"]
        expected = {f["test_mission"]: f["auroc"] for f in reference}
        result = results[f"genelab-{task}-{tissue}-pathway-hallmark"]
        for fold in result.folds:
            assert fold.metrics["auroc"] == pytest.approx(expected[fold.fold_id], abs=0.005), (
                task,
                fold.fold_id,
            )
            checked += 1
    assert checked == 22


def test_baselines_page_lists_published_and_measured(
    suites: Path, spaceomics_dir: Path, genelab_dir: Path
) -> None:
    page = baselines_markdown(
        LocalResultStore(suites / "results").results(), spaceomics_dir, genelab_dir
    )
    assert "| F4 | macro_f1 | 0.1632 | 0.1632 | 0.0000 | 0.3992 | 0.3992 |" in page
    assert "### GeneLab A4 (hallmark) — pca-lr" in page
