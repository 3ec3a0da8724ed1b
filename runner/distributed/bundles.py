"""Bringing a bundle (and its sealed labels) to a worker: a shared path is used in place; an
``s3://`` prefix is downloaded once into a local cache (through the object storage layer,
:mod:`runner.storage.s3`, not through a result store). Either way the bundle's manifest hash
must equal the one the job names before anything runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from runner.bundle import manifest
from runner.errors import BundleError

DEFAULT_CACHE = Path(os.environ.get("AIRLOCK_CACHE", Path.home() / ".cache" / "airlock"))


def _download(uri: str, target: Path) -> None:
    """Copy everything under the s3:// prefix into ``target``, atomically (via a sibling)."""
    from runner.storage.s3 import S3Prefix

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if S3Prefix(uri).download_all(staging) == 0:
            raise BundleError(f"{uri}: nothing there")
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def fetch_bundle(uri: str, expected_hash: str, cache: Path = DEFAULT_CACHE) -> Path:
    """A local directory holding the bundle whose manifest hash is ``expected_hash``."""
    if uri.startswith("s3://"):
        path = cache / "bundles" / expected_hash.removeprefix("sha256:")[:24]
        if not (path / manifest.MANIFEST_NAME).is_file():
            _download(uri, path)
    else:
        path = Path(uri)
    manifest_path = path / manifest.MANIFEST_NAME
    if not manifest_path.is_file():
        raise BundleError(f"{uri}: no bundle there (no {manifest.MANIFEST_NAME})")
    found = manifest.bundle_hash(manifest_path)
    if found != expected_hash:
        raise BundleError(
            f"{uri}: bundle hash {found[:19]} is not the enqueued {expected_hash[:19]}"
        )
    return path


def fetch_sealed(uri: str | None, bundle_hash: str, cache: Path = DEFAULT_CACHE) -> Path | None:
    """The sealed labels' directory on this worker (None: the bundle's own ``sealed/``)."""
    if uri is None:
        return None
    if not uri.startswith("s3://"):
        return Path(uri)
    path = cache / "sealed" / bundle_hash.removeprefix("sha256:")[:24]
    if not (path / manifest.SALT_NAME).is_file():
        _download(uri, path)
        for item in [path, *path.rglob("*")]:
            item.chmod(0o700 if item.is_dir() else 0o600)  # only the runner reads labels
    return path
