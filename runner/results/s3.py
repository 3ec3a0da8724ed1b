"""S3-compatible object storage for results (AWS S3, MinIO, Ceph...), through boto3.

Keys mirror the local layout under ``s3://bucket/prefix/``. Objects are written data
first and ``result.json`` last, and a listing counts only results whose ``result.json``
exists, so readers never see a partial result. Transient errors (5xx, throttling,
connection resets, timeouts) are retried by botocore's standard mode with backoff and a
bounded budget; what still fails is a StoreError (reported as ``infra_error``).

Endpoint, region and credentials come from the usual AWS environment and config files
(``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``...).
``AIRLOCK_S3_ATTEMPTS`` and ``AIRLOCK_S3_TIMEOUT`` tune the retry budget and timeouts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.errors import StoreError
from runner.results.model import SubmissionResult
from runner.results.store import RESULT_NAME, ResultStore

DEFAULT_ATTEMPTS = 5
DEFAULT_TIMEOUT = 20.0
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


def parse_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, "some/prefix")."""
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"{uri}: expected s3://bucket[/prefix]")
    return bucket, prefix.strip("/")


class S3ResultStore(ResultStore):
    """Results in a bucket (optionally under a prefix)."""

    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = parse_uri(uri)
        self._client = client or _client()

    def describe(self) -> str:
        return self.uri

    def probe(self) -> str:
        self._call("head_bucket", "", Bucket=self.bucket)
        self._call(
            "list_objects_v2", self.prefix, Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1
        )
        endpoint = getattr(getattr(self._client, "meta", None), "endpoint_url", "?")
        return f"{self.uri} is reachable and listable at {endpoint} (writes not tried)"

    def _key(self, key: str, name: str) -> str:
        return "/".join(part for part in (self.prefix, key, name) if part)

    def _call(self, action: str, target: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._client, action)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if action == "get_object" and code in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"s3://{self.bucket}/{target}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"s3://{self.bucket}/{target}: {exc}") from exc

    def put_artifact(self, key: str, name: str, data: bytes) -> str:
        target = self._key(key, name)
        self._call("put_object", target, Bucket=self.bucket, Key=target, Body=data)
        return f"s3://{self.bucket}/{target}"

    def get_artifact(self, key: str, name: str) -> bytes | None:
        target = self._key(key, name)
        response = self._call("get_object", target, Bucket=self.bucket, Key=target)
        if response is None:
            return None
        body: bytes = response["Body"].read()
        return body

    def put_result(self, key: str, result: SubmissionResult) -> str:
        data = result.model_dump_json(indent=2, by_alias=True).encode() + b"\n"
        return self.put_artifact(key, RESULT_NAME, data)

    def download_all(self, target: Path) -> int:
        """Copy every object under this store's prefix into ``target``; returns the count."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.prefix}/" if self.prefix else ""
        count = 0
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    path = target / item["Key"][len(prefix) :]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._client.download_file(self.bucket, item["Key"], str(path))
                    count += 1
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.uri}: cannot download: {exc}") from exc
        return count

    def fold_records(self) -> list[bytes]:
        return [raw for _, raw in self.fold_record_items()]

    def fold_record_items(self) -> list[tuple[str, bytes]]:
        """(result key, raw record) of every fold record (``<key>/folds/<fold>.json``)."""
        prefix = f"{self.prefix}/" if self.prefix else ""
        items = []
        for key in self._keys(is_fold_record):
            response = self._call("get_object", key, Bucket=self.bucket, Key=key)
            if response is not None:  # else removed between listing and reading
                result_key = key[len(prefix) :].rsplit("/", 2)[0]
                items.append((result_key, response["Body"].read()))
        return items

    def result_keys(self) -> list[str]:
        """Object keys of every complete result (``<key>/result.json``)."""
        return self._keys(is_result)

    def _keys(self, wanted: Callable[[str], bool]) -> list[str]:
        """Object keys under this store's prefix whose key relative to it is ``wanted``."""
        keys = []
        token: str | None = None
        prefix = f"{self.prefix}/" if self.prefix else ""
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", prefix or "/", **kwargs)
            keys += [o["Key"] for o in page.get("Contents", []) if wanted(o["Key"][len(prefix) :])]
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page.get("NextContinuationToken")

    def results(self) -> list[SubmissionResult]:
        found = []
        for key in self.result_keys():
            response = self._call("get_object", key, Bucket=self.bucket, Key=key)
            if response is None:
                continue  # removed between listing and reading
            try:
                found.append(SubmissionResult.model_validate_json(response["Body"].read()))
            except ValueError as exc:
                reason = str(exc).splitlines()[0]
                raise StoreError(
                    f"s3://{self.bucket}/{key}: not a valid Airlock result ({reason})"
                ) from exc
        return found


def _client() -> Any:
    import boto3
    from botocore.config import Config

    attempts = int(os.environ.get("AIRLOCK_S3_ATTEMPTS", DEFAULT_ATTEMPTS))
    timeout = float(os.environ.get("AIRLOCK_S3_TIMEOUT", DEFAULT_TIMEOUT))
    config = Config(
        retries={"max_attempts": attempts, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    return boto3.client("s3", config=config)
