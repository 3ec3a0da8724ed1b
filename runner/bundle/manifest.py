"""``MANIFEST.sha256``: the bundle's identity and its commitment to the sealed labels.

Every public file is listed with its SHA-256. Each fold's sealed labels appear only as a
salted commitment, ``sha256(salt + "\\0" + fold id + "\\0" + y.csv bytes)``: publishing the
manifest proves later that the labels were not changed, without letting anyone test guesses
against it. That holds only while the salt is secret: it lives with the sealed labels and must
never be derivable from a public file. It is either random (``write_salt``'s default) or, for
re-imports that must give the same bundle hash, ``keyed_salt``: an HMAC under a key that only
the organizer holds. The bundle hash is the SHA-256 of the manifest bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from runner.bundle.problems import Problem

MANIFEST_NAME = "MANIFEST.sha256"
MANIFEST_HEADER = "# airlock-manifest/1"
SEALED_DIR_NAME = "sealed"
SALT_NAME = "SALT"
SEALED_PREFIX = "sealed:"
_CHUNK = 1 << 20


@dataclass
class Manifest:
    """Parsed manifest: public file hashes and per-fold sealed-label commitments."""

    files: dict[str, str] = field(default_factory=dict)
    commitments: dict[str, str] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_hash(manifest_path: Path) -> str:
    """The bundle's identity: ``sha256:`` and the hash of its manifest bytes."""
    return "sha256:" + sha256_file(manifest_path)


def public_files(bundle_dir: Path) -> list[str]:
    """Relative POSIX paths of every file the manifest must list (sorted)."""
    found = []
    for path in bundle_dir.rglob("*"):
        rel = path.relative_to(bundle_dir)
        if rel.parts[0] == SEALED_DIR_NAME or rel.as_posix() == MANIFEST_NAME:
            continue
        if path.is_file() or path.is_symlink():
            found.append(rel.as_posix())
    return sorted(found)


def sealed_commitment(sealed_dir: Path, fold_id: str) -> str:
    """The salted hash of one fold's sealed labels (see module docstring)."""
    salt = read_salt(sealed_dir)
    digest = hashlib.sha256()
    digest.update(salt)
    digest.update(b"\0" + fold_id.encode() + b"\0")
    digest.update((sealed_dir / fold_id / "y.csv").read_bytes())
    return digest.hexdigest()


def read_salt(sealed_dir: Path) -> bytes:
    """The commitment salt kept in ``SALT`` (hex) beside the sealed labels."""
    return bytes.fromhex((sealed_dir / SALT_NAME).read_text().strip())


def keyed_salt(key: bytes, material: object) -> bytes:
    """A reproducible but secret salt: ``HMAC-SHA256(key, canonical JSON of material)``.

    ``material`` names what the salt is for (an importer passes ``[bundle id, source-file
    hashes]``), so each bundle gets its own salt while a re-import of the same source with
    the same key gets the same salt, hence the same bundle hash. Without ``key`` the salt
    cannot be recomputed from the material, which may be public.

    Raises:
        ValueError: ``key`` is empty (an empty key would make the salt public again).
    """
    if not key:
        raise ValueError("the salt key is empty")
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).digest()


def write_salt(sealed_dir: Path, salt: bytes | None = None) -> None:
    """Create the salt file (random unless given, e.g. for deterministic samples)."""
    sealed_dir.mkdir(parents=True, exist_ok=True)
    (sealed_dir / SALT_NAME).write_text((salt or secrets.token_bytes(32)).hex() + "\n")


def render_manifest(bundle_dir: Path, sealed_dir: Path, folds: list[str]) -> str:
    """Manifest text for the bundle as it is on disk now."""
    lines = [MANIFEST_HEADER]
    lines += [f"{sha256_file(bundle_dir / rel)}  {rel}" for rel in public_files(bundle_dir)]
    lines += [f"{sealed_commitment(sealed_dir, fold)}  {SEALED_PREFIX}{fold}" for fold in folds]
    return "\n".join(lines) + "\n"


def write_manifest(bundle_dir: Path, sealed_dir: Path, folds: list[str]) -> str:
    """Write ``MANIFEST.sha256`` and return the resulting bundle hash."""
    path = bundle_dir / MANIFEST_NAME
    path.write_text(render_manifest(bundle_dir, sealed_dir, folds))
    return bundle_hash(path)


def parse_manifest(path: Path) -> tuple[Manifest, list[Problem]]:
    """Parse the manifest; malformed lines are problems, not exceptions."""
    manifest = Manifest()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return manifest, [Problem(path, "manifest is missing; run `airlock bundle manifest`")]
    except (OSError, UnicodeDecodeError) as exc:
        return manifest, [Problem(path, f"cannot be read: {exc}")]
    problems = []
    lines = text.splitlines()
    if not lines or lines[0] != MANIFEST_HEADER:
        problems.append(Problem(path, f"first line must be {MANIFEST_HEADER!r}", 1))
    for number, line in enumerate(lines[1:], start=2):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            problems.append(Problem(path, "expected '<64 hex digits>  <path>'", number))
            continue
        if name.startswith(SEALED_PREFIX):
            manifest.commitments[name.removeprefix(SEALED_PREFIX)] = digest
        else:
            manifest.files[name] = digest
    return manifest, problems


def verify_public(bundle_dir: Path, manifest: Manifest) -> list[Problem]:
    """Check every public file against the manifest, both ways."""
    problems = []
    on_disk = set(public_files(bundle_dir))
    for rel, expected in sorted(manifest.files.items()):
        path = bundle_dir / rel
        if rel not in on_disk:
            problems.append(Problem(path, "listed in the manifest but missing"))
        elif path.is_symlink():
            problems.append(Problem(path, "is a symlink; bundles must hold plain files"))
        elif sha256_file(path) != expected:
            problems.append(
                Problem(
                    path, f"content does not match the manifest (expected sha256 {expected[:12]}…)"
                )
            )
    for rel in sorted(on_disk - manifest.files.keys()):
        problems.append(Problem(bundle_dir / rel, "file is not listed in the manifest"))
    return problems


def verify_sealed(sealed_dir: Path, manifest: Manifest, folds: list[str]) -> list[Problem]:
    """Check each fold's sealed labels against its commitment."""
    problems = []
    if not (sealed_dir / SALT_NAME).is_file():
        return [Problem(sealed_dir / SALT_NAME, "commitment salt is missing")]
    for fold in folds:
        labels = sealed_dir / fold / "y.csv"
        expected = manifest.commitments.get(fold)
        if expected is None:
            problems.append(Problem(labels, f"manifest has no commitment for fold {fold!r}"))
        elif labels.is_file() and sealed_commitment(sealed_dir, fold) != expected:
            problems.append(Problem(labels, "sealed labels do not match the manifest commitment"))
    return problems
