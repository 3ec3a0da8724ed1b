"""The source's processed tables as the feature builders read them: the variants, the
metadata column lists, the ``Features`` they return, and reading a table so that the
bundle can list (and hash) every file it was built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runner.suites.spaceomicsbench.truth import SourceMissing

AS_PUBLISHED = "as-published"
CORRECTED = "corrected"
VARIANTS = (CORRECTED, AS_PUBLISHED)
CLINICAL_META = ["sample_id", "crew", "tissue", "timepoint", "timepoint_days", "phase", "mission"]
PLASMA_META = [
    "sample_id",
    "crew",
    "month_tp",
    "timepoint",
    "timepoint_days",
    "phase",
    "mission",
    "tissue",
]
"""The non-protein columns of proteomics_plasma_matrix.csv."""


@dataclass
class Features:
    """X (rows = the task's rows), feature names, participant metadata, and notes."""

    names: list[str]
    X: np.ndarray
    meta_columns: list[str] = field(default_factory=list)
    meta: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_csv(source: Path, name: str, files: list[str], **kwargs: object) -> pd.DataFrame:
    """``data/processed/<name>``, recorded in ``files``; SourceMissing when absent."""
    path = source / "data" / "processed" / name
    if not path.is_file():
        raise SourceMissing(name)
    files.append(name)
    return pd.read_csv(path, **kwargs)  # type: ignore[call-overload, no-any-return]


def numeric(frame: pd.DataFrame) -> np.ndarray:
    """Every cell as float64, NaN where it is not a number."""
    values: np.ndarray = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return values


def unique_names(names: list[str]) -> list[str]:
    """Repeated names get ``#2``, ``#3``... (in order), so every column has its own name."""
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}#{count + 1}")
    return result
