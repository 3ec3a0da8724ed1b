"""One prefix of an S3-compatible bucket (AWS S3, MinIO, Ceph...), through boto3.

The only module that calls boto3: the result store (:mod:`runner.results.s3`) and the
bundle fetcher of workers (:mod:`runner.distributed.bundles`) both go through
:class:`S3Prefix`, and neither knows the other. Every SDK error becomes a StoreError at this
boundary (reported as ``infra_error``). Transient errors (5xx, throttling, connection resets,
timeouts) are retried first by botocore's standard mode with backoff and a bounded budget.

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

DEFAULT_ATTEMPTS = 5
DEFAULT_TIMEOUT = 20.0


def parse_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, "some/prefix")."""
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise StoreError(f"{uri}: expected s3://bucket[/prefix]")
    return bucket, prefix.strip("/")


class S3Prefix:
    """The objects under ``s3://bucket/prefix``: read, written, listed and downloaded."""

    def __init__(self, uri: str, client: Any | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = parse_uri(uri)
        self.client = client or make_client()

    @property
    def listed(self) -> str:
        """What object keys under this prefix start with (empty for a whole bucket)."""
        return f"{self.prefix}/" if self.prefix else ""

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` below the prefix."""
        return "/".join(part for part in (self.prefix, *parts) if part)

    def call(self, action: str, target: str, **kwargs: Any) -> Any:
        """``client.<action>(**kwargs)``, its errors as StoreError naming ``target``; None for
        a ``get_object`` of a key that does not exist."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, action)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if action == "get_object" and code in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"s3://{self.bucket}/{target}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"s3://{self.bucket}/{target}: {exc}") from exc

    def read(self, key: str) -> bytes | None:
        """The bytes of object ``key``, or None when there is none."""
        response = self.call("get_object", key, Bucket=self.bucket, Key=key)
        if response is None:
            return None
        body: bytes = response["Body"].read()
        return body

    def write(self, key: str, data: bytes) -> str:
        """Store ``data`` as object ``key``; return its URI."""
        self.call("put_object", key, Bucket=self.bucket, Key=key, Body=data)
        return f"s3://{self.bucket}/{key}"

    def keys(self, wanted: Callable[[str], bool]) -> list[str]:
        """Object keys under this prefix whose key relative to it is ``wanted``, sorted."""
        keys = []
        token: str | None = None
        prefix = self.listed
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.call("list_objects_v2", prefix or "/", **kwargs)
            keys += [o["Key"] for o in page.get("Contents", []) if wanted(o["Key"][len(prefix) :])]
            if not page.get("IsTruncated"):
                return sorted(keys)
            token = page.get("NextContinuationToken")

    def top_level(self) -> list[str]:
        """The first path segments of the keys under this prefix ("directories"), sorted."""
        names: list[str] = []
        token: str | None = None
        prefix = self.listed
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/"}
            if token:
                kwargs["ContinuationToken"] = token
            page = self.call("list_objects_v2", prefix or "/", **kwargs)
            names += [
                p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", [])
            ]
            if not page.get("IsTruncated"):
                return sorted(names)
            token = page.get("NextContinuationToken")

    def download_all(self, target: Path) -> int:
        """Copy every object under this prefix into ``target``; returns the count."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = self.listed
        count = 0
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    path = target / item["Key"][len(prefix) :]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self.client.download_file(self.bucket, item["Key"], str(path))
                    count += 1
        except (BotoCoreError, ClientError) as exc:
            raise StoreError(f"{self.uri}: cannot download: {exc}") from exc
        return count


def make_client() -> Any:
    """A boto3 S3 client with the retry budget and timeouts of the environment."""
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
