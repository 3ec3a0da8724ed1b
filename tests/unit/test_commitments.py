"""The sealed-label commitments in a public manifest cannot be brute-forced.

A commitment is ``sha256(salt + "\\0" + fold + "\\0" + y.csv bytes)``. A small fold has few
possible labelings (2^12 for 12 binary samples), so the commitment hides them only while the
salt cannot be computed from what participants get. The attacker here knows every public file
(bundle.yaml with its source-file hashes, the manifest, the fold and test ids, how y.csv is
written) and tries every labeling with every salt derivable from them, including the formula
the importers used before (a hash of the bundle id and the source hashes). A positive control
shows that the same attack recovers the labels of a bundle salted the old way.

The importers are exercised end to end on a tiny GeneLab-shaped source written here, so none
of this needs ../shared.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner, Result

from runner.bundle import manifest
from runner.bundle.spec import BundleSpec
from runner.bundle.write import Dataset, FoldSplit, write_bundle
from runner.cli import app

CLASSES = ["ground", "flight"]
TEST_SIZE = 12
SECRET = b"organizer secret: never in a public file"
GENELAB_A = "genelab-A4-thymus-pathway-hallmark"
GENELAB_B = "genelab-B4-thymus-pathway-hallmark"


# --- the attacker -------------------------------------------------------------------------


def old_public_salt(bundle_id: str, source_files: dict[str, str]) -> bytes:
    """The salt both importers derived before, from bundle.yaml alone (reconstructed)."""
    return hashlib.sha256(json.dumps([bundle_id, source_files], sort_keys=True).encode()).digest()


def public_salts(bundle: Path) -> list[bytes]:
    """Every salt an attacker can compute from the bundle as published."""
    spec_bytes = (bundle / "bundle.yaml").read_bytes()
    spec = yaml.safe_load(spec_bytes)
    bundle_id, files = spec["id"], spec.get("source_files", {})
    material = [
        json.dumps([bundle_id, files], sort_keys=True),
        json.dumps([bundle_id, files], sort_keys=True, separators=(",", ":")),
        json.dumps([bundle_id, files]),
        bundle_id,
        "",
    ]
    salts = [old_public_salt(bundle_id, files), b"", bytes(32), spec_bytes]
    for text in material:
        raw = text.encode()
        salts += [raw, hashlib.sha256(raw).digest()]
        for key in (b"", bundle_id.encode(), spec_bytes):  # HMACs under public "keys"
            salts.append(hmac.new(key, raw, hashlib.sha256).digest())
    salts.append(hashlib.sha256(spec_bytes).digest())
    return salts


def brute_force(bundle: Path) -> dict[str, list[str]]:
    """Labels recovered per fold: every labeling of the test ids, with every public salt."""
    spec = yaml.safe_load((bundle / "bundle.yaml").read_text())
    parsed, problems = manifest.parse_manifest(bundle / manifest.MANIFEST_NAME)
    assert problems == []
    recovered = {}
    for fold in spec["folds"]:
        with (bundle / "folds" / fold / "test" / "X.csv").open(newline="") as handle:
            ids = [row[0] for row in list(csv.reader(handle))[1:]]
        target = parsed.commitments[fold]
        for salt in public_salts(bundle):
            prefix = hashlib.sha256(salt + b"\0" + fold.encode() + b"\0" + b"id,label\n")
            for labels in itertools.product(spec["classes"], repeat=len(ids)):
                digest = prefix.copy()
                digest.update(
                    "".join(f"{i},{v}\n" for i, v in zip(ids, labels, strict=True)).encode()
                )
                if digest.hexdigest() == target:
                    recovered[fold] = list(labels)
                    break
            if fold in recovered:
                break
    return recovered


def sealed_labels(sealed: Path, fold: str) -> list[str]:
    rows = list(csv.reader(io.StringIO((sealed / fold / "y.csv").read_text())))
    return [row[1] for row in rows[1:]]


# --- a small bundle written directly ------------------------------------------------------


def tiny_task() -> tuple[BundleSpec, Dataset, list[FoldSplit]]:
    """Two missions of 12 samples each, leave one mission out: test folds of 12 samples."""
    rng = np.random.default_rng(7)
    n = 2 * TEST_SIZE
    missions = ["M1"] * TEST_SIZE + ["M2"] * TEST_SIZE
    labels = np.array([CLASSES[int(v)] for v in rng.integers(0, 2, n)])
    spec = BundleSpec.model_validate(
        {
            "id": "tiny-lomo",
            "title": "Tiny flight vs ground",
            "source": "tests/unit/test_commitments.py",
            "source_files": {
                "tasks/tiny/labels.csv": hashlib.sha256(b"labels").hexdigest(),
                "processed/tiny_scores.csv": hashlib.sha256(b"scores").hexdigest(),
            },
            "task_type": "binary",
            "classes": CLASSES,
            "positive_class": "flight",
            "metrics": {"primary": "auroc"},
            "split": {"kind": "leave-one-group-out", "group": "mission"},
            "folds": ["mission_M1", "mission_M2"],
        }
    )
    data = Dataset(
        [f"sample{i:02d}" for i in range(n)],
        ["f1", "f2", "f3"],
        rng.normal(size=(n, 3)),
        labels,
        ["mission"],
        [[m] for m in missions],
    )
    groups = np.array(missions)
    folds = [
        FoldSplit(f"mission_{m}", np.flatnonzero(groups != m), np.flatnonzero(groups == m))
        for m in ("M1", "M2")
    ]
    return spec, data, folds


def test_old_public_salt_is_broken_by_brute_force(tmp_path: Path) -> None:
    """Positive control: the attack works, so its failures below mean something."""
    spec, data, folds = tiny_task()
    salt = old_public_salt(spec.id, spec.source_files)
    write_bundle(tmp_path / "old", spec, data, folds, salt=salt)
    recovered = brute_force(tmp_path / "old")
    sealed = tmp_path / "old" / "sealed"
    assert recovered == {fold: sealed_labels(sealed, fold) for fold in spec.folds}
    assert len(set(recovered["mission_M1"])) == 2  # a real labeling, not a constant one


@pytest.mark.parametrize("how", ["random", "keyed"])
def test_secret_salts_resist_the_same_brute_force(tmp_path: Path, how: str) -> None:
    spec, data, folds = tiny_task()
    salt = None if how == "random" else manifest.keyed_salt(SECRET, [spec.id, spec.source_files])
    write_bundle(tmp_path / how, spec, data, folds, salt=salt)
    assert manifest.read_salt(tmp_path / how / "sealed") not in public_salts(tmp_path / how)
    assert brute_force(tmp_path / how) == {}


def test_keyed_salt_is_an_hmac_of_canonical_json() -> None:
    material = ["b", {"z": "1", "a": "2"}]
    expected = hmac.new(
        SECRET, b'["b",{"a":"2","z":"1"}]', hashlib.sha256
    ).digest()  # sorted keys, no spaces
    assert manifest.keyed_salt(SECRET, material) == expected
    assert manifest.keyed_salt(SECRET, material) != manifest.keyed_salt(SECRET + b"!", material)
    assert manifest.keyed_salt(SECRET, material) != manifest.keyed_salt(SECRET, ["c", {}])
    with pytest.raises(ValueError, match="empty"):
        manifest.keyed_salt(b"", material)


# --- the importers, on a tiny GeneLab-shaped source ---------------------------------------


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture(scope="module")
def genelab_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Task A4 (thymus) with missions M1 and M2 of 12 samples each, and the B4 pairs."""
    root = tmp_path_factory.mktemp("genelab")
    rng = np.random.default_rng(11)
    samples = {
        m: [(f"{m}_S{i:02d}", int(rng.integers(0, 2))) for i in range(TEST_SIZE)]
        for m in ("M1", "M2")
    }
    sets = ["HALLMARK_A", "HALLMARK_B", "HALLMARK_C"]
    meta_header = ["", "label", "mission", "osd_id", "strain", "duration_days", "tissue"]

    def meta(mission: str) -> list[list[str]]:
        return [meta_header] + [
            [s, CLASSES[y], mission, "OSD-1", "C57BL/6J", "30", "thymus"]
            for s, y in samples[mission]
        ]

    def labels(mission: str) -> list[list[str]]:
        return [["", "label"]] + [[s, f"{y:.1f}"] for s, y in samples[mission]]

    for test, train in (("M1", "M2"), ("M2", "M1")):
        unit = root / "tasks" / "A4_thymus_lomo" / f"fold_{test}_test"
        _write_rows(unit / "train_y.csv", labels(train))
        _write_rows(unit / "train_meta.csv", meta(train))
        _write_rows(unit / "test_y.csv", labels(test))
        _write_rows(unit / "test_meta.csv", meta(test))
        pair = root / "tasks" / "B4_thymus_cross_mission" / f"pair_{train}_{test}"
        _write_rows(pair / "test_y.csv", labels(test))
        _write_rows(
            root / "processed" / "pathway_scores" / "thymus" / f"{test}_gsva_hallmark.csv",
            [["", *sets]]
            + [[s, *(f"{v:.4f}" for v in rng.normal(size=3))] for s, _ in samples[test]],
        )
    return root


def import_genelab(source: Path, out: Path, *options: str, exit_code: int = 0) -> Result:
    command = ["bundle", "import", "genelab", "--source", str(source), "--out", str(out)]
    result = CliRunner().invoke(app, [*command, "--tasks", "A4,B4", *options])
    assert result.exit_code == exit_code, result.output
    return result


def hashes(result: Result) -> dict[str, str]:
    """Bundle id -> bundle hash, from the `<path>  <hash>` lines on stdout."""
    return {
        Path(path).name: digest
        for path, digest in (line.split("  ") for line in result.stdout.splitlines())
    }


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "salt.key"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


@pytest.mark.parametrize("keyed", [False, True])
def test_imported_bundles_resist_brute_force(
    genelab_source: Path, tmp_path: Path, key_file: Path, keyed: bool
) -> None:
    options = ["--salt-key", str(key_file)] if keyed else []
    result = import_genelab(genelab_source, tmp_path / "out", *options)
    assert set(hashes(result)) == {GENELAB_A, GENELAB_B}
    for bundle_id in (GENELAB_A, GENELAB_B):
        bundle = tmp_path / "out" / bundle_id
        spec = yaml.safe_load((bundle / "bundle.yaml").read_text())
        salt = manifest.read_salt(bundle / "sealed")
        assert salt != old_public_salt(spec["id"], spec["source_files"])
        if keyed:
            assert salt == manifest.keyed_salt(SECRET, [spec["id"], spec["source_files"]])
        assert brute_force(bundle) == {}, bundle_id
        # the control: had the import salted the old way, these labels would be recovered
        shutil.copytree(bundle, tmp_path / "control" / bundle_id)
        control = tmp_path / "control" / bundle_id
        manifest.write_salt(control / "sealed", old_public_salt(spec["id"], spec["source_files"]))
        manifest.write_manifest(control, control / "sealed", spec["folds"])
        assert brute_force(control) == {
            fold: sealed_labels(control / "sealed", fold) for fold in spec["folds"]
        }


def test_keyed_import_is_reproducible_and_unkeyed_is_not(
    genelab_source: Path, tmp_path: Path, key_file: Path
) -> None:
    other_key = tmp_path / "keys" / "other.key"
    other_key.write_bytes(SECRET + b" (rotated)")
    keyed = [
        hashes(import_genelab(genelab_source, tmp_path / run, "--salt-key", str(key)))
        for run, key in (("k1", key_file), ("k2", key_file), ("k3", other_key))
    ]
    assert keyed[0] == keyed[1]  # same key, same source: same bundle hashes
    assert all(keyed[0][b] != keyed[2][b] for b in keyed[0])  # another key: other hashes
    unkeyed = [import_genelab(genelab_source, tmp_path / run) for run in ("u1", "u2")]
    first, second = (hashes(result) for result in unkeyed)
    assert all(first[b] != second[b] for b in first)  # random salts: a new hash every time
    assert all(first[b] != keyed[0][b] for b in first)
    notes = [line for line in unkeyed[0].output.splitlines() if "--salt-key" in line]
    assert notes == [
        "airlock: note: no --salt-key, so every bundle gets a random commitment salt and its "
        "bundle hash will differ on every import; give --salt-key FILE for the same hash"
    ]
    assert (
        "--salt-key"
        not in import_genelab(genelab_source, tmp_path / "k4", "--salt-key", str(key_file)).output
    )


def test_bad_salt_keys_are_one_line_errors(
    genelab_source: Path, tmp_path: Path, key_file: Path
) -> None:
    empty = tmp_path / "keys" / "empty.key"
    empty.write_bytes(b"")
    inside = tmp_path / "out" / "salt.key"
    inside.parent.mkdir()
    inside.write_bytes(SECRET)
    cases = [
        (["--salt-key", str(tmp_path / "keys" / "absent.key")], "absent.key: no such file"),
        (["--salt-key", str(empty)], "empty.key is empty"),
        (["--salt-key", str(tmp_path / "keys")], "is not a file"),
        (["--salt-key", str(inside)], f"lies inside --out {tmp_path / 'out'}"),
        (
            ["--salt-key", str(key_file), "--sealed-out", str(tmp_path / "keys")],
            f"lies inside --sealed-out {tmp_path / 'keys'}",
        ),
        (["--sealed-out", str(tmp_path / "out" / "sealed")], "lies inside --out"),
    ]
    for options, message in cases:
        result = import_genelab(genelab_source, tmp_path / "out", *options, exit_code=2)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert lines[0].startswith("airlock: error: --s"), lines
        assert message in lines[0], lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["salt.key"]  # nothing written
    short = tmp_path / "keys" / "short.key"
    short.write_bytes(b"hunter2")
    result = import_genelab(genelab_source, tmp_path / "out", "--salt-key", str(short))
    assert "airlock: warning: --salt-key" in result.output
    assert "holds only 7 bytes" in result.output


def test_sealed_out_keeps_labels_out_of_the_bundles_and_run_finds_them(
    genelab_source: Path, tmp_path: Path, key_file: Path
) -> None:
    from runner.bundle.validate import validate_bundle
    from runner.run import load_for_run

    out, sealed = tmp_path / "bundles", tmp_path / "sealed"
    result = import_genelab(
        genelab_source, out, "--salt-key", str(key_file), "--sealed-out", str(sealed)
    )
    assert set(hashes(result)) == {GENELAB_A, GENELAB_B}
    assert f"run with --bundle {out} --sealed {sealed}" in result.output
    assert sorted(p.name for p in sealed.iterdir()) == [GENELAB_A, GENELAB_B]
    for bundle_id in (GENELAB_A, GENELAB_B):
        assert not (out / bundle_id / "sealed").exists()
        assert (sealed / bundle_id / manifest.SALT_NAME).is_file()
        assert validate_bundle(out / bundle_id, sealed / bundle_id) == []
        assert validate_bundle(out / bundle_id, sealed) == []  # a directory per bundle id
        assert validate_bundle(out / bundle_id, public=True) == []
    # `airlock run --bundle OUT --sealed SEALED`: one sealed directory per bundle id
    loaded = load_for_run([out], sealed)
    assert {b.spec.id: b.sealed_dir for b in loaded} == {
        GENELAB_A: sealed / GENELAB_A,
        GENELAB_B: sealed / GENELAB_B,
    }
    assert {b.hash.removeprefix("sha256:") for b in loaded} == {
        h.removeprefix("sha256:") for h in hashes(result).values()
    }
    (single,) = load_for_run([out / GENELAB_A], sealed)
    assert single.sealed_dir == sealed / GENELAB_A
    # a re-import replaces each bundle's sealed directory, never leaves one inside the bundle
    again = import_genelab(
        genelab_source, out, "--salt-key", str(key_file), "--sealed-out", str(sealed)
    )
    assert hashes(again) == hashes(result)
    assert not any((out / b / "sealed").exists() for b in (GENELAB_A, GENELAB_B))


# --- `airlock bundle validate --public` ---------------------------------------------------


def validate(*args: str | Path) -> Result:
    return CliRunner().invoke(app, ["bundle", "validate", *map(str, args)])


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A valid bundle as participants get it: sealed/ removed."""
    spec, data, folds = tiny_task()
    write_bundle(tmp_path / "tiny", spec, data, folds)
    assert validate(tmp_path / "tiny").exit_code == 0
    shutil.rmtree(tmp_path / "tiny" / "sealed")
    return tmp_path / "tiny"


def test_public_validation_passes_without_sealed_labels(published: Path) -> None:
    result = validate(published, "--public")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def test_public_validation_needs_a_commitment_for_every_fold(published: Path) -> None:
    path = published / manifest.MANIFEST_NAME
    path.write_text(
        "".join(
            line
            for line in path.read_text().splitlines(keepends=True)
            if "sealed:mission_M2" not in line
        )
    )
    result = validate(published, "--public")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}: manifest has no sealed commitment for fold 'mission_M2' "
        "(expected a line '<sha256>  sealed:mission_M2')"
    ]


def test_public_validation_still_checks_public_files(published: Path) -> None:
    x = published / "folds" / "mission_M1" / "test" / "X.csv"
    x.write_text(x.read_text().replace(",", ",9", 1))
    result = validate(published, "--public")
    assert result.exit_code == 1
    assert "folds/mission_M1/test/X.csv: content does not match the manifest" in result.stdout


def test_without_public_a_missing_sealed_dir_points_to_public(published: Path) -> None:
    result = validate(published)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{published / 'sealed'}: sealed labels directory is missing; organizers: give it with "
        "--sealed DIR; participants (bundle published without sealed/): validate with --public"
    ]
    assert validate(published, "--sealed", published.parent / "elsewhere").exit_code == 1


def test_public_with_sealed_is_a_usage_error(published: Path) -> None:
    result = validate(published, "--public", "--sealed", published.parent)
    assert result.exit_code == 2
    assert result.output.startswith("airlock: error: --public checks a bundle without")


def test_public_mode_notes_a_sealed_dir_left_in_place(tmp_path: Path) -> None:
    spec, data, folds = tiny_task()
    write_bundle(tmp_path / "tiny", spec, data, folds)
    result = validate(tmp_path / "tiny", "--public")
    assert result.exit_code == 0
    assert "sealed exists and was not checked; remove it before giving" in result.output
