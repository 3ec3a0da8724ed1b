"""Results in S3-compatible object storage (AWS S3, MinIO, Ceph...).

Keys mirror the local layout under ``s3://bucket/prefix/``. Objects are written data
first and ``result.json`` last, and a listing counts only results whose ``result.json``
exists, so readers never see a partial result. The objects themselves are read and written
through :class:`runner.storage.s3.S3Prefix` (retries, timeouts and the AWS environment are
described there); what still fails is a StoreError (reported as ``infra_error``).
"""

from __future__ import annotations

from typing import Any

from runner.errors import OldStoreLayout, StoreError
from runner.results.base import RESULT_NAME, ResultStore, is_legacy_submission
from runner.results.model import SubmissionResult
from runner.storage.s3 import S3Prefix

KEY_DEPTH = 2
"""Path segments of a result key (``<submission>/<bundle>@<hash>``), as in the local layout."""


def is_result(relative: str) -> bool:
    """``<key>/result.json`` (a relative object key), as ``LocalResultStore`` globs it."""
    parts = relative.split("/")
    return len(parts) == KEY_DEPTH + 1 and parts[-1] == RESULT_NAME


def is_fold_record(relative: str) -> bool:
    """``<key>/folds/<fold>.json`` (a relative object key), as ``LocalResultStore`` globs it."""
    parts = relative.split("/")
    return len(parts) == KEY_DEPTH + 2 and parts[-2] == "folds" and parts[-1].endswith(".json")


class S3ResultStore(ResultStore):
    """Results in a bucket (optionally under a prefix)."""

    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.objects = S3Prefix(uri, client)
        self.uri, self.bucket, self.prefix = (
            self.objects.uri,
            self.objects.bucket,
            self.objects.prefix,
        )

    def describe(self) -> str:
        return self.uri

    def probe(self) -> str:
        self.objects.call("head_bucket", "", Bucket=self.bucket)
        self.objects.call(
            "list_objects_v2", self.prefix, Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1
        )
        endpoint = getattr(getattr(self.objects.client, "meta", None), "endpoint_url", "?")
        return f"{self.uri} is reachable and listable at {endpoint} (writes not tried)"

    def check_layout(self) -> None:
        """Refuse a prefix holding Airlock 0.1 results (keyed by image only), as the local
        store does; they are migrated through a local copy."""
        found = [name for name in self.objects.top_level() if is_legacy_submission(name)]
        if found:
            raise OldStoreLayout(
                f"{self.uri} holds {len(found)} result(s) in the layout of Airlock 0.1 (keyed by "
                f"image only, e.g. {found[0]}/), which mixes up teams that ran the same image; "
                f"copy them to a directory DIR, run airlock results migrate --results DIR, then "
                f"airlock publish DIR --to a new prefix"
            )

    def put_artifact(self, key: str, name: str, data: bytes) -> str:
        return self.objects.write(self.objects.key(key, name), data)

    def get_artifact(self, key: str, name: str) -> bytes | None:
        return self.objects.read(self.objects.key(key, name))

    def put_result(self, key: str, result: SubmissionResult) -> str:
        data = result.model_dump_json(indent=2, by_alias=True).encode() + b"\n"
        return self.put_artifact(key, RESULT_NAME, data)

    def fold_records(self) -> list[bytes]:
        return [raw for _, raw in self.fold_record_items()]

    def fold_record_items(self) -> list[tuple[str, bytes]]:
        """(result key, raw record) of every fold record (``<key>/folds/<fold>.json``)."""
        items = []
        for key in self.objects.keys(is_fold_record):
            raw = self.objects.read(key)
            if raw is not None:  # else removed between listing and reading
                result_key = key[len(self.objects.listed) :].rsplit("/", 2)[0]
                items.append((result_key, raw))
        return items

    def result_keys(self) -> list[str]:
        """Object keys of every complete result (``<key>/result.json``)."""
        return self.objects.keys(is_result)

    def results(self) -> list[SubmissionResult]:
        self.check_layout()
        found = []
        for key in self.result_keys():
            raw = self.objects.read(key)
            if raw is None:
                continue  # removed between listing and reading
            try:
                found.append(SubmissionResult.model_validate_json(raw))
            except ValueError as exc:
                reason = str(exc).splitlines()[0]
                raise StoreError(
                    f"s3://{self.bucket}/{key}: not a valid Airlock result ({reason})"
                ) from exc
        return found
