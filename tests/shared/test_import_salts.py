"""`airlock bundle import` of the real benchmarks with --sealed-out and --salt-key: the labels
land apart from the bundles, where `airlock run --sealed` finds them, and a keyed re-import
gives the same bundle hashes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import Result

from runner.bundle import manifest
from runner.bundle.validate import validate_bundle
from runner.run import load_for_run
from tests.shared.sources import import_bundles

pytestmark = pytest.mark.shared_data


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "salt.key"
    path.parent.mkdir()
    path.write_bytes(b"a secret that only the organizer holds")
    return path


def _hashes(result: Result) -> dict[str, str]:
    return {
        Path(path).name: digest
        for path, digest in (line.split("  ") for line in result.stdout.splitlines())
    }


def _check_apart(out: Path, sealed: Path, hashes: dict[str, str], key: bytes) -> None:
    """Nothing sealed in the bundles; each one valid with its labels and as published."""
    assert sorted(p.name for p in out.iterdir()) == sorted(hashes)
    assert sorted(p.name for p in sealed.iterdir()) == sorted(hashes)
    for bundle_id in hashes:
        bundle = out / bundle_id
        assert not (bundle / manifest.SEALED_DIR_NAME).exists(), bundle_id
        assert validate_bundle(bundle, sealed) == [], bundle_id
        assert validate_bundle(bundle, public=True) == [], bundle_id
        spec = yaml.safe_load((bundle / "bundle.yaml").read_text())
        assert manifest.read_salt(sealed / bundle_id) == manifest.keyed_salt(
            key, [spec["id"], spec["source_files"]]
        )
    loaded = load_for_run([out], sealed)  # what `airlock run --bundle OUT --sealed SEALED` does
    assert {b.spec.id: (b.sealed_dir, b.hash) for b in loaded} == {
        bundle_id: (sealed / bundle_id, digest) for bundle_id, digest in hashes.items()
    }


def test_spaceomicsbench_sealed_out(spaceomics_dir: Path, tmp_path: Path, key_file: Path) -> None:
    out, sealed = tmp_path / "bundles", tmp_path / "sealed"
    options = ["--tasks", "A1,D1", "--salt-key", str(key_file), "--sealed-out", str(sealed)]
    result = import_bundles("spaceomicsbench", spaceomics_dir, out, *options)
    hashes = _hashes(result)
    assert sorted(hashes) == [
        "spaceomicsbench-v2.1-A1@corrected",
        "spaceomicsbench-v2.1-D1@corrected",
    ]
    _check_apart(out, sealed, hashes, key_file.read_bytes())
    assert f"sealed labels: {sealed}/<bundle id>" in result.output


def test_genelab_keyed_sealed_out_twice_gives_the_same_hashes(
    genelab_dir: Path, tmp_path: Path, key_file: Path
) -> None:
    runs = []
    for run in ("first", "second"):
        out, sealed = tmp_path / run / "bundles", tmp_path / run / "sealed"
        options = ["--tasks", "A4,B4", "--salt-key", str(key_file), "--sealed-out", str(sealed)]
        result = import_bundles("genelab", genelab_dir, out, *options)
        assert "--salt-key" not in result.output  # no note: the hashes are reproducible
        runs.append(_hashes(result))
        _check_apart(out, sealed, runs[-1], key_file.read_bytes())
    assert runs[0] == runs[1]
    assert sorted(runs[0]) == [
        "genelab-A4-thymus-pathway-hallmark",
        "genelab-B4-thymus-pathway-hallmark",
    ]


def test_genelab_without_a_key_differs_on_every_import(genelab_dir: Path, tmp_path: Path) -> None:
    first, second = (
        import_bundles("genelab", genelab_dir, tmp_path / run, "--tasks", "A4")
        for run in ("first", "second")
    )
    assert "bundle hash will differ on every import" in first.output
    (bundle_id,) = _hashes(first)
    assert _hashes(first)[bundle_id] != _hashes(second)[bundle_id]  # a random salt each time
