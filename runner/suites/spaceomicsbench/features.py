"""Feature matrices of the SpaceOmicsBench tasks, as published and as corrected.

Rows follow the task's truth (``truth.py``); the split files index them. "As published"
reproduces what upstream's ``run_baselines.py`` feeds its models, defects included;
"corrected" joins every table by sample id where upstream relies on position. The two
differ only where upstream's positions are wrong (F4, F5 and G1 with the shared data);
elsewhere the corrected join is asserted to give the same rows.

Metadata given to participants excludes anything that determines the label (a sample's
timepoint gives its phase, its body site is the F4 label); it keeps the grouping column
of leave-one-group-out splits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from runner.suites.spaceomicsbench.multiomics import g1_features
from runner.suites.spaceomicsbench.source_tables import (
    AS_PUBLISHED,
    CLINICAL_META,
    CORRECTED,
    PLASMA_META,
    VARIANTS,
    Features,
    numeric,
    read_csv,
)
from runner.suites.spaceomicsbench.truth import SourceInvalid, SourceMissing, TaskTruth


def _task_rows(
    table: pd.DataFrame, key: str, truth: TaskTruth, variant: str, what: str
) -> pd.DataFrame:
    """The table's rows in the task's row order: as published, by position (asserted to be
    the same rows); corrected, by ``key``."""
    if variant == AS_PUBLISHED:
        if table[key].astype(str).tolist() != truth.ids:
            raise SourceInvalid(
                f"{what}: rows are not in the order of the label file; positional join invalid"
            )
        return table
    indexed = table.set_index(table[key].astype(str))
    missing = [i for i in truth.ids if i not in indexed.index]
    if missing:
        raise SourceInvalid(f"{what}: ids {missing[:5]} not found")
    return indexed.loc[truth.ids]


def _crews(ids: list[str], crew: pd.Series) -> tuple[list[str], list[list[str]]]:
    return ["crew"], [[str(c)] for c in crew]


def _clinical(table_name: str) -> Callable[[Path, TaskTruth, str, list[str]], Features]:
    def build(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
        cbc = read_csv(source, "clinical_cbc.csv", files)
        tables = (
            [read_csv(source, name, files) for name in ("clinical_cbc.csv", "clinical_cmp.csv")]
            if table_name == "cbc+cmp"
            else [read_csv(source, table_name, files)]
        )
        blocks = []
        for table in tables:
            rows = _task_rows(table, "sample_id", truth, variant, table_name)
            blocks.append(rows.drop(columns=CLINICAL_META))
        frame = pd.concat([b.reset_index(drop=True) for b in blocks], axis=1)
        meta_columns, meta = _crews(truth.ids, cbc["crew"])
        return Features(list(frame.columns), numeric(frame), meta_columns, meta)

    return build


def _b2(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    correlation = _task_rows(
        read_csv(source, "gt_cfrna_correlation.csv", files),
        "gene",
        truth,
        variant,
        "gt_cfrna_correlation.csv",
    )
    values = correlation.drop(columns=["gene"])
    return Features([str(c) for c in values.columns], numeric(values))


def _c1(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    table = read_csv(source, "proteomics_plasma_matrix.csv", files)
    values = np.nan_to_num(numeric(table.drop(columns=PLASMA_META)), nan=0.0)  # upstream: NaN -> 0
    meta_columns, rows = _crews(truth.ids, table["crew"])
    return Features(
        [c for c in table.columns if c not in PLASMA_META],
        values,
        meta_columns,
        rows,
        ["missing protein values are set to 0 before imputation (upstream rule)"],
    )


def _c2(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    plasma = read_csv(source, "proteomics_plasma_de_clean.csv", files).set_index("gene")
    read_csv(source, "proteomics_evp_de_clean.csv", files)
    columns = ["logFC", "AveExpr", "t", "B"]
    return Features(
        [f"plasma_{c}" for c in columns], plasma.loc[truth.ids, columns].to_numpy(dtype=np.float64)
    )


def _atoms(formula: object, element: str) -> int:
    """Upstream's parser: every capital letter ``element`` followed by optional digits (so
    the C of Cl counts as a carbon)."""
    if not isinstance(formula, str):
        return 0
    return sum(int(digits) if digits else 1 for digits in re.findall(f"{element}(\\d*)", formula))


def _d1(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    table = read_csv(source, "metabolomics_spaceflight_response.csv", files)
    numeric = (
        table[["Mass", "RT", "annotation_confidence"]]
        .apply(pd.to_numeric, errors="coerce")
        .fillna(0.0)
    )
    columns = [numeric.to_numpy(dtype=np.float64)]
    names = ["Mass", "RT", "annotation_confidence"]
    for column in ("SuperPathway", "SubPathway"):
        categories = sorted(str(v) for v in table[column].dropna().unique())
        values = table[column]
        columns.append(
            np.column_stack([(values == c).to_numpy(dtype=np.float64) for c in categories])
        )
        names += [f"{column}={c}" for c in categories]
    elements = ["C", "H", "N", "O", "S", "P"]
    columns.append(
        np.array([[_atoms(f, e) for e in elements] for f in table["Formula"]], dtype=np.float64)
    )
    names += [f"atoms_{e}" for e in elements]
    return Features(names, np.hstack(columns))


def _spatial(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    name = "gt_spatial_de_all_skin.csv"
    table = _task_rows(read_csv(source, name, files), "gene", truth, variant, name)
    columns = ["baseMean", "log2FoldChange", "lfcSE"]
    return Features(columns, table[columns].to_numpy(dtype=np.float64))


def _microbiome_pathways(
    source: Path, truth: TaskTruth, variant: str, files: list[str]
) -> Features:
    table = read_csv(source, "microbiome_human_pathways_cpm.csv", files)
    meta = read_csv(source, "microbiome_metadata.csv", files)
    human = meta[meta["source"] == "human"]
    samples = [c for c in table.columns if c != "pathway"]
    notes = []
    if variant == AS_PUBLISHED:
        wanted = set(human["sample_id"].astype(str))
        kept = [
            c for c in samples if c in wanted or c.startswith(("C001", "C002", "C003", "C004"))
        ][: len(truth.ids)]
        wrong = sum(1 for column, sample in zip(kept, truth.ids, strict=True) if column != sample)
        notes.append(
            f"as published: pathway columns taken by file position; {wrong} of {len(kept)} rows "
            "are another sample's"
        )
    else:
        missing = [i for i in truth.ids if i not in samples]
        if missing:
            raise SourceInvalid(f"microbiome_human_pathways_cpm.csv: samples {missing[:5]} missing")
        kept = list(truth.ids)
        extra = sorted(set(samples) - set(kept))
        notes.append(
            f"corrected: columns matched by sample id; {len(extra)} samples not in the metadata "
            f"left out: {extra}"
        )
    values = table[kept].to_numpy(dtype=np.float64).T
    return Features(
        table["pathway"].astype(str).tolist(),
        values,
        ["crew"],
        [[str(c)] for c in human["crew"]],
        notes,
    )


def _columns(
    filename: str, columns: list[str]
) -> Callable[[Path, TaskTruth, str, list[str]], Features]:
    def build(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
        table = read_csv(source, filename, files)
        return Features(columns, table[columns].to_numpy(dtype=np.float64))

    return build


def _missing(filename: str) -> Callable[[Path, TaskTruth, str, list[str]], Features]:
    def build(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
        raise SourceMissing(filename)

    return build


BUILDERS: dict[str, Callable[[Path, TaskTruth, str, list[str]], Features]] = {
    "A1": _clinical("cbc+cmp"),
    "A2": _clinical("clinical_cytokines_eve.csv"),
    "B1": _missing("cfrna_3group_de_noleak.csv"),
    "B2": _b2,
    "C1": _c1,
    "C2": _c2,
    "D1": _d1,
    "E1": _spatial,
    "E2": _spatial,
    "E3": _spatial,
    "E4": _spatial,
    "F1": _missing("microbiome_human_taxonomy_cpm.csv"),
    "F2": _missing("microbiome_human_taxonomy_cpm.csv"),
    "F3": _missing("microbiome_human_taxonomy_cpm.csv"),
    "F4": _microbiome_pathways,
    "F5": _microbiome_pathways,
    "G1": g1_features,
    "H1": _columns(
        "conserved_pbmc_to_skin.csv",
        ["CD4_T", "CD8_T", "other_T", "B", "NK", "CD14_Mono", "CD16_Mono", "DC", "other"],
    ),
    "I1": _columns(
        "cross_mission_hemoglobin_de.csv",
        ["fc_pre_vs_flight", "fc_pre_vs_post", "fc_flight_vs_post"],
    ),
    "I2": _columns(
        "cross_mission_pathway_features.csv",
        [
            "mean_NES",
            "std_NES",
            "mean_ES",
            "mean_padj",
            "min_padj",
            "n_celltypes",
            "mean_size",
            "direction_consistency",
        ],
    ),
    "I3": _columns(
        "cross_mission_gene_de.csv",
        [
            "mean_abs_log2fc",
            "max_abs_log2fc",
            "mean_base_expr",
            "mean_lfcSE",
            "mean_abs_wald",
            "n_cell_types",
            "n_contrasts",
            "n_total_deg_entries",
            "direction_consistency",
        ],
    ),
}


def build_features(source: Path, truth: TaskTruth, variant: str) -> Features:
    """The task's X for ``variant`` (corrected or as-published)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}")
    files: list[str] = []
    features = BUILDERS[truth.task_id](source, truth, variant, files)
    if features.X.shape != (len(truth.ids), len(features.names)):
        raise SourceInvalid(
            f"{truth.task_id}: built X has shape {features.X.shape}, "
            f"expected ({len(truth.ids)}, {len(features.names)})"
        )
    features.files = sorted(set(files))
    if not features.meta_columns:
        features.meta = [[] for _ in truth.ids]
    return features


__all__ = ["AS_PUBLISHED", "BUILDERS", "CORRECTED", "VARIANTS", "Features", "build_features"]
