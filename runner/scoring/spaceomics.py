"""SpaceOmicsBench v2.1's task-level figures (its evaluation harness and run_baselines).

Aggregation of the per-fold metrics (``spaceomics_folds``): mean, population sd, min and
max over the folds where a value exists (a metric undefined on a fold is None there and is
skipped). Normalized scores against the published random references, category means and
the composite. No scikit-learn here: the leaderboard and result statistics import this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

EXCLUDED_FROM_COMPOSITE = frozenset({"E2", "E3"})
CATEGORIES: dict[str, tuple[str, ...]] = {
    "A_clinical": ("A1", "A2"),
    "B_cfrna": ("B1", "B2"),
    "C_proteomics": ("C1", "C2"),
    "D_metabolomics": ("D1",),
    "E_spatial": ("E1", "E4"),
    "F_bodysite": ("F1", "F4"),
    "F_phase": ("F2", "F5"),
    "F_source": ("F3",),
    "G_multimodal": ("G1",),
    "H_crosstissue": ("H1",),
    "I_crossmission": ("I1", "I2", "I3"),
}
RANDOM_REFERENCE: dict[str, float] = {
    "A1": 0.2143, "A2": 0.2143, "B1": 0.0202, "B2": 0.0833, "C1": 0.1698, "C2": 0.5286,
    "D1": 0.4812, "E1": 0.0078, "E2": 0.0012, "E3": 0.0019, "E4": 0.0029, "F1": 0.1124,
    "F2": 0.2047, "F3": 0.4018, "F4": 0.1124, "F5": 0.2047, "G1": 0.2532, "H1": 0.0604,
    "I1": 0.0033, "I2": 0.5041, "I3": 0.0587,
}  # fmt: skip
"""The published random baseline's mean primary metric (one random draw, rounded)."""


@dataclass
class FoldMetrics:
    """One fold's metrics (a harness ``per_split`` entry) and why each None one is undefined."""

    values: dict[str, Any] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)


def aggregate(folds: list[FoldMetrics]) -> dict[str, dict[str, float | int]]:
    """Mean, population sd, min, max of every numeric per-fold metric over defined folds."""
    names = (
        [
            n
            for n in folds[0].values
            if all(isinstance(f.values.get(n), (int, float, type(None))) for f in folds)
        ]
        if folds
        else []
    )
    result: dict[str, dict[str, float | int]] = {}
    for name in names:
        values = [
            float(v)
            for f in folds
            if (v := f.values.get(name)) is not None
            and not (isinstance(v, float) and math.isnan(v))
        ]
        if not values:
            continue
        result[name] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values)),
            "min": float(np.min(values)),
            "max": float(np.max(values)),
            "n_folds": len(values),
        }
    return result


def normalized_score(mean_primary: float, random_reference: float) -> float:
    """max(0, (s - r) / (1 - r)) on the 4-dp rounded mean, as published; 0 when r >= 1."""
    if random_reference >= 1:
        return 0.0
    return max(0.0, (round(mean_primary, 4) - random_reference) / (1 - random_reference))


def composite(normalized: dict[str, float]) -> dict[str, Any]:
    """Category means of the normalized scores present, and their mean (E2, E3 excluded)."""
    categories = {}
    for category, members in CATEGORIES.items():
        present = [
            normalized[t] for t in members if t in normalized and t not in EXCLUDED_FROM_COMPOSITE
        ]
        if present:
            categories[category] = float(np.mean(present))
    return {
        "categories": categories,
        "composite": float(np.mean(list(categories.values()))) if categories else None,
        "n_categories": len(categories),
    }
