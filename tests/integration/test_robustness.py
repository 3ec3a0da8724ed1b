"""Robustness probes in real containers on a sample bundle: the published logistic
regression (many features, mean imputation) against the brittle sample (one feature per
label). The brittle one loses more under feature dropout; under noise both fall with the
strength; probes never change a clean score. The figures go to test-artifacts/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, SAMPLES, run_airlock
from tests.integration.conftest import ARTIFACTS

pytestmark = pytest.mark.docker

BUNDLE = SAMPLES / "synth-multilabel"
PROBES = "dropout,noise,permutation"


@pytest.fixture(scope="module")
def brittle_image(docker_client: Any) -> str:
    """The brittle sample as scripts/build-images.sh builds it (on airlock/sdk)."""
    tag = "airlock/sample-brittle:latest"
    docker_client.images.build(path=str(REPO / "sample_submissions" / "brittle"), tag=tag, rm=True)
    return tag


def _run(image: str, results: Path, *extra: str) -> dict[str, Any]:
    done = run_airlock(
        "run", "--image", image, "--bundle", str(BUNDLE), "--results", str(results), "-q", *extra
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = results.glob("*/*/result.json")
    return dict(json.loads(path.read_text()))


def _curves(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {curve["probe"]: curve for curve in result["statistics"]["robustness"]["curves"]}


def test_the_brittle_model_loses_more_under_dropout_and_noise_curves_fall(
    brittle_image: str, tmp_path: Path
) -> None:
    logreg = _run("airlock/sample-logreg", tmp_path / "logreg", "--probes", PROBES)
    brittle = _run(brittle_image, tmp_path / "brittle", "--probes", PROBES)
    plain = _run("airlock/sample-logreg", tmp_path / "plain")
    assert [f["metrics"] for f in plain["folds"]] == [f["metrics"] for f in logreg["folds"]]
    lines = ["| submission | probe | rAUC | metric by level |", "|---|---|---|---|"]
    for name, result in (("logreg", logreg), ("brittle", brittle)):
        curves = _curves(result)
        noise = [point["metric"] for point in curves["noise"]["points"]]
        assert noise == sorted(noise, reverse=True) and len(set(noise)) == len(noise), noise
        assert all(f["robustness"]["levels"][-1]["agreement"] == 1.0 for f in result["folds"])
        for probe, curve in curves.items():
            values = ", ".join(f"{p['level']:g}: {p['metric']:.3f}" for p in curve["points"])
            shown = "-" if curve["rauc"] is None else f"{curve['rauc']:.3f}"
            lines.append(f"| {name} | {probe} | {shown} | {values} |")
    dropout = (_curves(logreg)["dropout"]["rauc"], _curves(brittle)["dropout"]["rauc"])
    assert dropout[1] < dropout[0], dropout
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "robustness-samples.md").write_text("\n".join(lines) + "\n")
