"""The result store interface, apart from its implementations.

Each store (a local directory in :mod:`runner.results.store`, a bucket in
:mod:`runner.results.s3`) imports this module and nothing of the others, so choosing a store
by URI (``store_at``) never makes two store modules import each other.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from runner.results.model import SubmissionResult

RESULT_NAME = "result.json"
"""Written last under each key: a key without it is an unfinished run."""

_LEGACY_SUBMISSION = re.compile(r"[0-9a-f]{12}")


def is_legacy_submission(name: str) -> bool:
    """A top-level directory of Airlock 0.1's layout: an image id alone (12 hex digits)."""
    return _LEGACY_SUBMISSION.fullmatch(name) is not None


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

    def fold_records(self) -> list[bytes]:
        """The raw fold records in the store (for status counts)."""
        raise NotImplementedError(f"{self.describe()} cannot list fold records")

    def finish(self) -> None:  # noqa: B027 - optional hook, most stores fail at once
        """Called once a run has stored everything; raises StoreError if anything was lost
        on the way (nothing to do for stores that fail at once)."""

    def describe(self) -> str:
        return type(self).__name__

    @abstractmethod
    def probe(self) -> str:
        """Check the store can be used now; raise StoreError saying why not, else describe
        what was checked (for ``airlock doctor``)."""

    def check_layout(self) -> None:  # noqa: B027 - stores that can list override it
        """Raise StoreError when the store holds results in an older layout."""
