"""Getting a team's image to the organizer: an image archive upload (``docker save``).

Why an archive and not a registry with per-team push rights: the server then never runs a
registry with accounts, a team never gets any access to the engine or to a registry, and
the image is content-addressed from the moment it arrives. The archive is checked as it is
rewritten (one image, safe member names, the config's hash is the image id the manifest
names) and stripped of its repository tags before ``docker load``: an archive tagged
``airlock/base:bookworm`` or another team's name can retag nothing. The server tags the
loaded image ``airlock-submission/<submission id>`` and records its id; what runs, and what
provenance shows, is that id.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from runner.errors import UsageError
from runner.untrusted import stays_inside

SUBMISSION_REPOSITORY = "airlock-submission"


class ArchiveError(UsageError):
    """The upload is not one well-formed image archive (HTTP 422)."""


class ArchiveTooLarge(ArchiveError):
    """The upload is over the competition's size limit (HTTP 413)."""


@dataclass(frozen=True)
class Archive:
    path: Path
    image_id: str
    size: int


def _config_name(manifest: Any) -> str:
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        raise ArchiveError("the archive must hold exactly one image (docker save IMAGE)")
    config = manifest[0].get("Config")
    if not isinstance(config, str) or not stays_inside(config):
        raise ArchiveError("the archive's manifest names no valid image config")
    return config


def rewrite_archive(source: IO[bytes], dest: Path) -> Archive:
    """Check the uploaded archive while copying it to ``dest`` without repository tags."""
    configs: dict[str, str] = {}
    manifest: Any = None
    try:
        with tarfile.open(fileobj=source, mode="r|*") as reader, tarfile.open(dest, "w") as out:
            for member in reader:
                if not stays_inside(member.name) or not (
                    member.isfile() or member.isdir() or member.issym()
                ):
                    raise ArchiveError(f"the archive holds an unsafe entry {member.name[:80]!r}")
                if member.issym() and not stays_inside(member.linkname):
                    raise ArchiveError(f"the archive holds an unsafe link {member.name[:80]!r}")
                data = reader.extractfile(member) if member.isfile() else None
                if member.name in ("manifest.json", "repositories"):
                    raw = data.read() if data else b""
                    if member.name == "manifest.json":
                        manifest = json.loads(raw)
                    continue  # written again below, without tags
                if data is not None and member.size <= 16 * 2**20:  # small: a config, maybe
                    content = data.read()
                    configs[member.name] = hashlib.sha256(content).hexdigest()
                    out.addfile(member, io.BytesIO(content))
                else:
                    out.addfile(member, data)
            config = _config_name(manifest)
            if config not in configs:
                raise ArchiveError("the archive's manifest names a config it does not hold")
            expected = config.rsplit("/", 1)[-1].removesuffix(".json")
            if configs[config] != expected:
                raise ArchiveError("the image config does not match its name (a damaged archive)")
            untagged = [{**manifest[0], "RepoTags": None}]
            text = json.dumps(untagged).encode()
            entry = tarfile.TarInfo("manifest.json")
            entry.size = len(text)
            out.addfile(entry, io.BytesIO(text))
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        dest.unlink(missing_ok=True)
        raise ArchiveError(f"not an image archive (docker save IMAGE): {exc}") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return Archive(dest, f"sha256:{expected}", dest.stat().st_size)
