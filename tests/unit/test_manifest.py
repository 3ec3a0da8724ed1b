from __future__ import annotations

from pathlib import Path

from runner.bundle import manifest
from tests.helpers import copy_bundle


def test_bundle_hash_is_the_manifest_hash_and_changes_with_content(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    before = manifest.bundle_hash(bundle / "MANIFEST.sha256")
    assert before == manifest.write_manifest(
        bundle, bundle / "sealed", ["crew_C1", "crew_C2", "crew_C3", "crew_C4"]
    )
    x = bundle / "folds/crew_C1/test/X.csv"
    x.write_text(x.read_text() + "\n")
    after = manifest.write_manifest(
        bundle, bundle / "sealed", ["crew_C1", "crew_C2", "crew_C3", "crew_C4"]
    )
    assert after != before


def test_commitment_hides_labels_behind_the_salt(tmp_path: Path) -> None:
    bundle = copy_bundle("synth-loco-3class", tmp_path)
    sealed = bundle / "sealed"
    original = manifest.sealed_commitment(sealed, "crew_C1")
    manifest.write_salt(sealed)  # a new random salt: same labels, different commitment
    assert manifest.sealed_commitment(sealed, "crew_C1") != original
    text = (bundle / "MANIFEST.sha256").read_text()
    assert "sealed:crew_C1" in text and "sealed/" not in text


def test_malformed_manifest_lines_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "MANIFEST.sha256"
    path.write_text("# airlock-manifest/1\nnot a hash  file.csv\n")
    _, problems = manifest.parse_manifest(path)
    assert [p.line for p in problems] == [2]
