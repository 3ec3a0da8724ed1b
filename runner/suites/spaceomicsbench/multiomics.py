"""G1's features: the clinical panels, plasma proteomics and metabolomics of the same
samples side by side. Upstream assembles the two omics blocks by file position, so most of
their rows belong to other samples; the corrected variant matches them by
(crew, timepoint_days)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runner.suites.spaceomicsbench.source_tables import (
    AS_PUBLISHED,
    CLINICAL_META,
    PLASMA_META,
    Features,
    numeric,
    read_csv,
    unique_names,
)
from runner.suites.spaceomicsbench.truth import TaskTruth

METABOLITE_ANNOTATION = [
    "SuperPathway",
    "SubPathway",
    "metabolite_name",
    "annotation_confidence",
    "Formula",
    "Mass",
    "RT",
    "CAS ID",
    "Mode",
    "KEGG",
    "HMDB",
]
"""The non-sample columns of metabolomics_anppos_matrix.csv."""

_Key = tuple[str, int]
"""(crew, timepoint_days): what identifies a G1 sample across the three omics tables."""


def g1_features(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    """Clinical, plasma proteomics and metabolomics blocks side by side, one row per
    clinical sample that all three measured."""
    cbc = (
        read_csv(source, "clinical_cbc.csv", files)
        .set_index("sample_id", drop=False)
        .loc[truth.ids]
    )
    plasma = read_csv(source, "proteomics_plasma_matrix.csv", files)
    read_csv(source, "proteomics_metadata.csv", files)
    metabolomics = read_csv(source, "metabolomics_anppos_matrix.csv", files)
    met_meta = read_csv(source, "metabolomics_metadata.csv", files)
    keys = list(zip(cbc["crew"].astype(str), cbc["timepoint_days"].astype(int), strict=True))
    clinical = _g1_clinical(source, truth, cbc, files)
    plasma_keys = list(
        zip(plasma["crew"].astype(str), plasma["timepoint_days"].astype(int), strict=True)
    )
    met_samples = [c for c in metabolomics.columns if c not in METABOLITE_ANNOTATION]
    if variant == AS_PUBLISHED:
        prot_rows, met_columns, note = _g1_rows_as_published(keys, plasma_keys, met_samples)
    else:
        prot_rows, met_columns, note = _g1_rows_matched(keys, plasma_keys, met_meta)
    proteins = plasma.drop(columns=PLASMA_META)
    prot_values = np.nan_to_num(numeric(proteins.iloc[prot_rows]), nan=0.0)
    met_values = np.nan_to_num(
        metabolomics[met_columns]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype=np.float64)
        .T,
        nan=0.0,
    )
    names = (
        [f"clin:{c}" for c in clinical.columns]
        + [f"prot:{c}" for c in proteins.columns]
        + [f"met:{n}" for n in metabolomics["metabolite_name"].astype(str)]
    )
    values = np.hstack([numeric(clinical), prot_values, met_values])
    return Features(unique_names(names), values, ["crew"], [[k[0]] for k in keys], [note])


def _g1_clinical(
    source: Path, truth: TaskTruth, cbc: pd.DataFrame, files: list[str]
) -> pd.DataFrame:
    """The CBC and CMP panels of the task's samples, in the task's row order."""
    return pd.concat(
        [
            cbc.drop(columns=CLINICAL_META).reset_index(drop=True),
            read_csv(source, "clinical_cmp.csv", files)
            .set_index("sample_id")
            .loc[truth.ids]
            .drop(columns=[c for c in CLINICAL_META if c != "sample_id"])
            .reset_index(drop=True),
        ],
        axis=1,
    )


def _g1_rows_as_published(
    keys: list[_Key], plasma_keys: list[_Key], met_samples: list[str]
) -> tuple[list[int], list[str], str]:
    """Upstream's assembly: proteomics rows in plasma-matrix file order, metabolomics
    columns by file position (both misaligned with the clinical rows)."""
    key_set = set(keys)
    prot_rows = [i for i, k in enumerate(plasma_keys) if k in key_set]
    crews = {k[0] for k in keys}
    met_columns = [c for c in met_samples if c.split("_")[0] in crews][: len(keys)]
    return (
        prot_rows,
        met_columns,
        "as published: proteomics rows kept in plasma-matrix order and metabolomics columns "
        "taken by file position, so most rows of those blocks belong to other samples",
    )


def _g1_rows_matched(
    keys: list[_Key], plasma_keys: list[_Key], met_meta: pd.DataFrame
) -> tuple[list[int], list[str], str]:
    """The corrected assembly: proteomics rows and metabolomics columns of the same
    (crew, timepoint_days) as each clinical row."""
    position = {k: i for i, k in enumerate(plasma_keys)}
    met_key = {
        (str(c), int(d)): str(s)
        for s, c, d in zip(
            met_meta["sample_id"], met_meta["crew"], met_meta["timepoint_days"], strict=True
        )
    }
    return (
        [position[k] for k in keys],
        [met_key[k] for k in keys],
        "corrected: proteomics rows and metabolomics columns matched by (crew, timepoint_days)",
    )
