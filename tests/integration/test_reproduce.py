"""`airlock reproduce` end to end with real containers, on one-fold bundles: a sample result
comes out identical; a changed sealed label and a vanished image are refused in one line
before anything runs; a clock-seeded sample shows its spread over three runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, bundle_variant, run_airlock

pytestmark = pytest.mark.docker

NONDETERMINISTIC = "airlock/sample-nondeterministic:latest"


def _result_of(bundle: Path, image: str, results: Path) -> Path:
    done = run_airlock("run", "--image", image, "--bundle", str(bundle), "--results", str(results), "-q")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = results.glob("*/*/result.json")
    return path


def _error_line(done: Any) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1, lines  # one line, no traceback
    return str(lines[0])


def test_a_sample_result_reproduces_and_missing_pieces_are_named(
    tmp_path: Path, docker_client: Any
) -> None:
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C1"])
    path = _result_of(bundle, "airlock/sample-logreg", tmp_path / "results")
    done = run_airlock("reproduce", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run 1 of 1: 1 identical, 0 within tolerance, 0 different" in done.stdout
    assert "reproduced: every fold of synth-loco-3class identical" in done.stdout

    sealed = bundle / "sealed" / "crew_C1" / "y.csv"  # one sealed label changed
    lines = sealed.read_text().splitlines()
    sample, label = lines[1].split(",")
    lines[1] = f"{sample},{'post_flight' if label != 'post_flight' else 'pre_flight'}"
    sealed.write_text("\n".join(lines) + "\n")
    line = _error_line(run_airlock("reproduce", str(path)))
    assert line.startswith(f"airlock: error: cannot reproduce {path}: {bundle / 'sealed'}: ")
    assert "the sealed labels of 1 of 1 folds do not match bundle 'synth-loco-3class''s" in line

    gone = tmp_path / "gone.json"  # the same result, its image no longer on the engine
    text = path.read_text()
    gone.write_text(text.replace('"image_id": "sha256:', '"image_id": "sha256:0000000000', 1))
    line = _error_line(run_airlock("reproduce", str(gone), "--bundle", str(tmp_path / "moved")))
    assert "image sha256:0000000000" in line and "is not on this engine: " in line
    assert "bundle synth-loco-3class (sha256:" in line and f"is not at {tmp_path / 'moved'}" in line


def test_a_clock_seeded_sample_reports_its_spread(tmp_path: Path, docker_client: Any) -> None:
    try:
        docker_client.images.get(NONDETERMINISTIC)
    except Exception:  # built by scripts/build-images.sh; build it here if missing
        docker_client.images.build(
            path=str(REPO / "sample_submissions" / "nondeterministic"),
            tag=NONDETERMINISTIC,
            rm=True,
        )
    bundle = bundle_variant("synth-loco-3class", tmp_path, folds=["crew_C2"])
    path = _result_of(bundle, NONDETERMINISTIC, tmp_path / "results")
    done = run_airlock("reproduce", str(path), "--runs", "3")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("run ") >= 3
    assert "Spread over 3 runs" in done.stdout
    assert "not deterministic: " in done.stdout and "vary over 3 runs" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "crew_C2" in line and "macro_f1" in line and "│ no" in line)  # fmt: skip
    print(f"\n{row}")
