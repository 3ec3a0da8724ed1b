"""The bundles below a directory, as ``airlock bundle list`` shows them: read from each
``bundle.yaml`` and manifest alone (nothing is verified; ``airlock bundle validate`` does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.bundle import manifest
from runner.bundle.load import read_spec
from runner.bundle.spec import BundleSpec


@dataclass(frozen=True)
class ListedBundle:
    """One ``<dir>/bundle.yaml`` below the root."""

    path: Path
    spec: BundleSpec | None
    """None when bundle.yaml is invalid."""
    problem: str | None
    """The first problem of an invalid bundle.yaml."""
    bundle_hash: str | None
    """The manifest's bundle hash; None for an invalid bundle or an unreadable manifest."""


def bundles_below(root: Path) -> list[ListedBundle]:
    """Every ``*/bundle.yaml`` directly below ``root``, sorted by path."""
    listed = []
    for spec_path in sorted(root.glob("*/bundle.yaml")):
        spec, problems = read_spec(spec_path.parent)
        manifest_path = spec_path.parent / manifest.MANIFEST_NAME
        try:
            digest = manifest.bundle_hash(manifest_path) if manifest_path.is_file() else None
        except OSError:
            digest = None
        listed.append(
            ListedBundle(
                path=spec_path.parent,
                spec=spec,
                problem=None if spec else str(problems[0]),
                bundle_hash=digest if spec else None,
            )
        )
    return listed
