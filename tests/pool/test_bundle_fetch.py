"""Workers fetch bundles from an ``s3://`` prefix through the object storage layer (no
result store involved), against a real S3 server on loopback (moto's standalone server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.bundle import manifest
from runner.errors import BundleError
from tests.helpers import SAMPLES
from tests.services import s3_server

BUCKET = "airlock-bundles"
SAMPLE = SAMPLES / "synth-loco-3class"


def test_a_bundle_and_its_sealed_labels_come_from_s3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("moto")
    from runner.distributed.bundles import fetch_bundle, fetch_sealed

    expected = manifest.bundle_hash(SAMPLE / manifest.MANIFEST_NAME)
    with s3_server(BUCKET) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        client = server.client()
        for path in sorted(p for p in SAMPLE.rglob("*") if p.is_file()):
            relative = path.relative_to(SAMPLE).as_posix()
            where = "sealed" if relative.startswith("sealed/") else "bundle"
            key = f"phase1/{where}/{relative.removeprefix('sealed/')}"
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

        cache = tmp_path / "cache"
        bundle = fetch_bundle(f"s3://{BUCKET}/phase1/bundle", expected, cache)
        sealed = fetch_sealed(f"s3://{BUCKET}/phase1/sealed", expected, cache)
        assert bundle.is_relative_to(cache) and sealed is not None
        assert (bundle / "bundle.yaml").read_bytes() == (SAMPLE / "bundle.yaml").read_bytes()
        assert (sealed / manifest.SALT_NAME).read_bytes() == (
            SAMPLE / "sealed" / manifest.SALT_NAME
        ).read_bytes()
        assert sealed.stat().st_mode & 0o777 == 0o700  # only the runner reads labels

        with pytest.raises(BundleError, match="is not the enqueued"):
            fetch_bundle(f"s3://{BUCKET}/phase1/bundle", "sha256:" + "0" * 64, tmp_path / "c2")
        with pytest.raises(BundleError, match="nothing there"):
            fetch_bundle(f"s3://{BUCKET}/phase2/bundle", expected, tmp_path / "c3")
