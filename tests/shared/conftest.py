"""Tests on the real benchmark data in ../shared (read at run time, never copied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared.sources import SHARED


@pytest.fixture(scope="session")
def genelab_dir() -> Path:
    path = SHARED / "genelab"
    if not (path / "tasks").is_dir():
        pytest.skip(f"GeneLab benchmark data not found at {path} (the shared folder is absent)")
    return path


@pytest.fixture(scope="session")
def spaceomics_dir() -> Path:
    path = SHARED / "spaceomicsbench"
    if not (path / "tasks").is_dir():
        pytest.skip(f"SpaceOmicsBench data not found at {path} (the shared folder is absent)")
    return path
