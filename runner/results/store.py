"""Where results go. One interface; the local directory store is the default.

Layout (keys are deterministic, so a repeated run overwrites its own result, nothing else)::

    <root>/<image id, 12 hex>/<bundle id>@<bundle hash, 12 hex>/
        result.json
        predictions/<fold>.csv
        logs/<fold>.stderr.log

Every file is written to a temporary name and renamed into place, and ``result.json`` is
written last, so a reader never takes a half-written run for a complete one.
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from runner.errors import StoreError
from runner.results.model import SubmissionResult

RESULT_NAME = "result.json"


def result_key(image_id: str, bundle_id: str, bundle_hash: str) -> str:
    """The store key of a (submission image, bundle) pair."""
    image = image_id.split(":", 1)[-1][:12]
    bundle = bundle_hash.split(":", 1)[-1][:12]
    return f"{image}/{bundle_id}@{bundle}"


class ResultStore(ABC):
    """Stores fold artifacts and submission results under a key."""

    @abstractmethod
    def put_artifact(self, key: str, name: str, data: bytes) -> str:
        """Store ``data`` as ``name`` (e.g. ``predictions/f1.csv``) under ``key``; return where."""

    @abstractmethod
    def get_artifact(self, key: str, name: str) -> bytes | None:
        """The stored bytes of ``name`` under ``key``, or None if there are none."""

    @abstractmethod
    def put_result(self, key: str, result: SubmissionResult) -> str:
        """Store the result last; return where it is."""

    @abstractmethod
    def results(self) -> list[SubmissionResult]:
        """Every complete result in the store."""


class LocalResultStore(ResultStore):
    """A directory on this machine."""

    def __init__(self, root: Path) -> None:
        self.root = root

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
        found = []
        for path in sorted(self.root.glob(f"*/*/{RESULT_NAME}")):
            try:
                found.append(SubmissionResult.model_validate_json(path.read_bytes()))
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f"{path}: not a valid Airlock result ({str(exc).splitlines()[0]})"
                ) from exc
        return found
