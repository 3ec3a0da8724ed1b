"""Where results go: the local directory store (the default), a remote store published
through a local copy, and ``store_at`` choosing one by URI. The interface, ``ResultStore``,
is in :mod:`runner.results.base` (re-exported here).

Layout (keys are deterministic, so a repeated run overwrites its own result, nothing else)::

    <root>/<team>.<team hash, 6 hex>@<image id, 12 hex>/<bundle id>@<bundle hash, 12 hex>/
        result.json
        predictions/<fold>.csv
        logs/<fold>.stderr.log
        folds/<fold>.json

A submission is a (team, image) pair: the same image run by two teams is two submissions,
with two results. Stores written by Airlock 0.1 were keyed by the image alone
(``<image id>/<bundle>@<hash>/``); they are refused with the command that migrates them.

Every file is written to a temporary name and renamed into place, and ``result.json`` is
written last, so a reader never takes a half-written run for a complete one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from runner.errors import OldStoreLayout, StoreError
from runner.results.base import RESULT_NAME as RESULT_NAME  # noqa: PLC0414 - re-exported
from runner.results.base import ResultStore as ResultStore  # noqa: PLC0414 - re-exported
from runner.results.base import is_legacy_submission
from runner.results.model import SubmissionResult


def submission_key(team: str, image_id: str) -> str:
    """The store directory of one submission: its team (readable, and a hash of the exact
    name so that ``a/b`` and ``a-b`` never collide) and its image id."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", team.lower()).strip("-.")[:40] or "team"
    digest = hashlib.sha256(team.encode()).hexdigest()[:6]
    return f"{slug}.{digest}@{image_id.split(':', 1)[-1][:12]}"


def result_key(image_id: str, bundle_id: str, bundle_hash: str, team: str) -> str:
    """The store key of a submission (team and image) on a bundle."""
    bundle = bundle_hash.split(":", 1)[-1][:12]
    return f"{submission_key(team, image_id)}/{bundle_id}@{bundle}"


def legacy_refusal(where: str, found: list[str]) -> OldStoreLayout:
    return OldStoreLayout(
        f"{where} holds {len(found)} result(s) in the layout of Airlock 0.1 (keyed by image "
        f"only, e.g. {found[0]}/), which mixes up teams that ran the same image; migrate "
        f"them with: airlock results migrate --results {where}"
    )


class LocalResultStore(ResultStore):
    """A directory on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def probe(self) -> str:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", suffix=".tmp"):
                pass
            free = os.statvfs(self.root)
        except OSError as exc:
            raise StoreError(f"{self.root}: cannot write there: {exc.strerror or exc}") from exc
        return f"{self.root} is writable ({free.f_bavail * free.f_frsize / 2**30:.1f} GiB free)"

    def legacy_submissions(self) -> list[str]:
        """Top-level directories in the layout of Airlock 0.1 (an image id alone)."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and is_legacy_submission(p.name)
        )

    def check_layout(self) -> None:
        if found := self.legacy_submissions():
            raise legacy_refusal(str(self.root), found)

    def fold_records(self) -> list[bytes]:
        self.check_layout()
        return [path.read_bytes() for path in sorted(self.root.glob("*/*/folds/*.json"))]

    def files(self) -> list[tuple[str, str, Path]]:
        """(key, name, path) of every stored file, result.json of each key last."""
        found = []
        for path in sorted(
            p for p in self.root.rglob("*") if p.is_file() and not p.name.endswith(".tmp")
        ):
            parts = path.relative_to(self.root).parts
            if len(parts) < 3:
                continue
            key, name = "/".join(parts[:2]), "/".join(parts[2:])
            found.append((key, name, path))
        return sorted(found, key=lambda item: (item[0], item[1] == RESULT_NAME, item[1]))

    def _write(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def put_artifact(self, key: str, name: str, data: bytes) -> str:
        path = self.root / key / name
        self._write(path, data)
        return str(path)

    def get_artifact(self, key: str, name: str) -> bytes | None:
        try:
            return (self.root / key / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(
                f"cannot read {self.root / key / name}: {exc.strerror or exc}"
            ) from exc

    def put_result(self, key: str, result: SubmissionResult) -> str:
        path = self.root / key / RESULT_NAME
        self._write(path, result.model_dump_json(indent=2, by_alias=True).encode() + b"\n")
        return str(path)

    def results(self) -> list[SubmissionResult]:
        self.check_layout()
        found = []
        for path in sorted(self.root.glob(f"*/*/{RESULT_NAME}")):
            try:
                found.append(SubmissionResult.model_validate_json(path.read_bytes()))
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f"{path}: not a valid Airlock result ({str(exc).splitlines()[0]})"
                ) from exc
        return found


class PublishingStore(ResultStore):
    """Writes everything to a local copy first, then publishes it to a remote store.

    If publishing fails for good (after the remote store's own retries), the run goes on
    writing locally and :meth:`finish` raises a StoreError that says where the local copy
    is and how to publish it again: nothing is lost, nothing partial looks complete.
    """

    def __init__(self, local: LocalResultStore, remote: ResultStore) -> None:
        self.local = local
        self.remote = remote
        self.failure: StoreError | None = None

    def describe(self) -> str:
        return f"{self.remote.describe()} (local copy: {self.local.describe()})"

    def _publish(self, action: str, *args: object) -> str | None:
        if self.failure is not None:
            return None
        try:
            return str(getattr(self.remote, action)(*args))
        except StoreError as exc:
            self.failure = exc
            return None

    def put_artifact(self, key: str, name: str, data: bytes) -> str:
        where = self.local.put_artifact(key, name, data)
        return self._publish("put_artifact", key, name, data) or where

    def get_artifact(self, key: str, name: str) -> bytes | None:
        found = self.local.get_artifact(key, name)
        if found is None and self.failure is None:
            try:
                found = self.remote.get_artifact(key, name)
            except StoreError as exc:
                self.failure = exc
        return found

    def put_result(self, key: str, result: SubmissionResult) -> str:
        where = self.local.put_result(key, result)
        return self._publish("put_result", key, result) or where

    def results(self) -> list[SubmissionResult]:
        return self.remote.results()

    def check_layout(self) -> None:
        self.local.check_layout()
        self.remote.check_layout()

    def probe(self) -> str:
        return f"{self.remote.probe()}; local copy: {self.local.probe()}"

    def finish(self) -> None:
        if self.failure is not None:
            raise StoreError(
                f"publishing to {self.remote.describe()} failed ({self.failure}); every result is "
                f"kept in {self.local.describe()}; publish it again with: "
                f"airlock publish {self.local.describe()} --to {self.remote.describe()}"
            )


def migrate(store: LocalResultStore) -> tuple[list[str], list[str]]:
    """Move Airlock 0.1 results (``<image>/<bundle>@<hash>/``) to their submission's key,
    the team read from each ``result.json``. Returns (moved keys, left directories): a
    directory without a result (an interrupted run) names no team and is left alone."""
    moved, left = [], []
    for legacy in store.legacy_submissions():
        for bundle_dir in sorted(p for p in (store.root / legacy).iterdir() if p.is_dir()):
            result_path = bundle_dir / RESULT_NAME
            if not result_path.is_file():
                left.append(f"{legacy}/{bundle_dir.name}")
                continue
            try:
                provenance = SubmissionResult.model_validate_json(
                    result_path.read_bytes()
                ).provenance
            except ValueError as exc:
                raise StoreError(f"{result_path}: not a valid result ({exc})") from exc
            team = provenance.team or provenance.image_ref
            key = f"{submission_key(team, provenance.image_id)}/{bundle_dir.name}"
            target = store.root / key
            if target.exists():
                raise StoreError(f"{target} exists already; move {bundle_dir} by hand")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(bundle_dir), str(target))
            moved.append(key)
        with contextlib.suppress(OSError):
            (store.root / legacy).rmdir()  # only when nothing was left in it
    return moved, left


def publish(local: LocalResultStore, remote: ResultStore) -> int:
    """Copy a local store to a remote one, each key's result.json last; returns the count."""
    count = 0
    for key, name, path in local.files():
        data = path.read_bytes()
        if name == RESULT_NAME:
            remote.put_result(key, SubmissionResult.model_validate_json(data))
        else:
            remote.put_artifact(key, name, data)
        count += 1
    return count


def store_at(uri: str) -> ResultStore:
    """The store a URI names: a directory, or ``s3://bucket/prefix``."""
    if uri.startswith("s3://"):
        from runner.results.s3 import S3ResultStore

        return S3ResultStore(uri)
    if "://" in uri:
        raise StoreError(f"{uri}: unsupported result store; use a directory or s3://bucket/prefix")
    return LocalResultStore(Path(uri))


def open_store(uri: str, local_copy: Path | None = None) -> ResultStore:
    """The store a run writes to: a directory as is; a remote store through a local copy
    (``results/`` unless given), so a publication failure loses nothing."""
    store = store_at(uri)
    if isinstance(store, LocalResultStore):
        return store
    return PublishingStore(LocalResultStore(local_copy or Path("results")), store)
