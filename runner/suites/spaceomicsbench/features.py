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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runner.suites.spaceomicsbench.truth import SourceInvalid, SourceMissing, TaskTruth

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


def _csv(source: Path, name: str, files: list[str], **kwargs: object) -> pd.DataFrame:
    path = source / "data" / "processed" / name
    if not path.is_file():
        raise SourceMissing(name)
    files.append(name)
    return pd.read_csv(path, **kwargs)  # type: ignore[call-overload, no-any-return]


def _numeric(frame: pd.DataFrame) -> np.ndarray:
    values: np.ndarray = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return values


def _reindexed(frame: pd.DataFrame, key: str, ids: list[str], what: str) -> pd.DataFrame:
    indexed = frame.set_index(frame[key].astype(str))
    missing = [i for i in ids if i not in indexed.index]
    if missing:
        raise SourceInvalid(f"{what}: ids {missing[:5]} not found")
    return indexed.loc[ids]


def _same_rows(published: pd.Series, ids: list[str], what: str) -> None:
    if published.astype(str).tolist() != ids:
        raise SourceInvalid(
            f"{what}: rows are not in the order of the label file; positional join invalid"
        )


def _crews(ids: list[str], crew: pd.Series) -> tuple[list[str], list[list[str]]]:
    return ["crew"], [[str(c)] for c in crew]


def _clinical(table_name: str) -> Callable[[Path, TaskTruth, str, list[str]], Features]:
    def build(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
        cbc = _csv(source, "clinical_cbc.csv", files)
        tables = (
            [_csv(source, name, files) for name in ("clinical_cbc.csv", "clinical_cmp.csv")]
            if table_name == "cbc+cmp"
            else [_csv(source, table_name, files)]
        )
        blocks = []
        for table in tables:
            if variant == AS_PUBLISHED:
                _same_rows(table["sample_id"], truth.ids, table_name)
                rows = table
            else:
                rows = _reindexed(table, "sample_id", truth.ids, table_name)
            blocks.append(rows.drop(columns=CLINICAL_META))
        frame = pd.concat([b.reset_index(drop=True) for b in blocks], axis=1)
        meta_columns, meta = _crews(truth.ids, cbc["crew"])
        return Features(list(frame.columns), _numeric(frame), meta_columns, meta)

    return build


def _b2(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    correlation = _csv(source, "gt_cfrna_correlation.csv", files)
    if variant == AS_PUBLISHED:
        _same_rows(correlation["gene"], truth.ids, "gt_cfrna_correlation.csv")
    else:
        correlation = _reindexed(correlation, "gene", truth.ids, "gt_cfrna_correlation.csv")
    values = correlation.drop(columns=["gene"])
    return Features([str(c) for c in values.columns], _numeric(values))


def _c1(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    table = _csv(source, "proteomics_plasma_matrix.csv", files)
    values = np.nan_to_num(_numeric(table.drop(columns=PLASMA_META)), nan=0.0)  # upstream: NaN -> 0
    meta_columns, rows = _crews(truth.ids, table["crew"])
    return Features(
        [c for c in table.columns if c not in PLASMA_META],
        values,
        meta_columns,
        rows,
        ["missing protein values are set to 0 before imputation (upstream rule)"],
    )


def _c2(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    plasma = _csv(source, "proteomics_plasma_de_clean.csv", files).set_index("gene")
    _csv(source, "proteomics_evp_de_clean.csv", files)
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
    table = _csv(source, "metabolomics_spaceflight_response.csv", files)
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
    table = _csv(source, "gt_spatial_de_all_skin.csv", files)
    if variant == AS_PUBLISHED:
        _same_rows(table["gene"], truth.ids, "gt_spatial_de_all_skin.csv")
    else:
        table = _reindexed(table, "gene", truth.ids, "gt_spatial_de_all_skin.csv")
    columns = ["baseMean", "log2FoldChange", "lfcSE"]
    return Features(columns, table[columns].to_numpy(dtype=np.float64))


def _microbiome_pathways(
    source: Path, truth: TaskTruth, variant: str, files: list[str]
) -> Features:
    table = _csv(source, "microbiome_human_pathways_cpm.csv", files)
    meta = _csv(source, "microbiome_metadata.csv", files)
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


def _g1(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
    cbc = _csv(source, "clinical_cbc.csv", files).set_index("sample_id", drop=False).loc[truth.ids]
    plasma = _csv(source, "proteomics_plasma_matrix.csv", files)
    _csv(source, "proteomics_metadata.csv", files)
    metabolomics = _csv(source, "metabolomics_anppos_matrix.csv", files)
    met_meta = _csv(source, "metabolomics_metadata.csv", files)
    keys = list(zip(cbc["crew"].astype(str), cbc["timepoint_days"].astype(int), strict=True))
    clinical = pd.concat(
        [
            cbc.drop(columns=CLINICAL_META).reset_index(drop=True),
            _csv(source, "clinical_cmp.csv", files)
            .set_index("sample_id")
            .loc[truth.ids]
            .drop(columns=[c for c in CLINICAL_META if c != "sample_id"])
            .reset_index(drop=True),
        ],
        axis=1,
    )
    plasma_keys = list(
        zip(plasma["crew"].astype(str), plasma["timepoint_days"].astype(int), strict=True)
    )
    annotation = [
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
    met_samples = [c for c in metabolomics.columns if c not in annotation]
    notes = []
    if variant == AS_PUBLISHED:
        key_set = set(keys)
        prot_rows = [
            i for i, k in enumerate(plasma_keys) if k in key_set
        ]  # plasma-matrix file order
        crews = {k[0] for k in keys}
        met_columns = [c for c in met_samples if c.split("_")[0] in crews][: len(keys)]
        notes.append(
            "as published: proteomics rows kept in plasma-matrix order and metabolomics columns "
            "taken by file position, so most rows of those blocks belong to other samples"
        )
    else:
        position = {k: i for i, k in enumerate(plasma_keys)}
        prot_rows = [position[k] for k in keys]
        met_key = {
            (str(c), int(d)): str(s)
            for s, c, d in zip(
                met_meta["sample_id"], met_meta["crew"], met_meta["timepoint_days"], strict=True
            )
        }
        met_columns = [met_key[k] for k in keys]
        notes.append(
            "corrected: proteomics rows and metabolomics columns matched by (crew, timepoint_days)"
        )
    proteins = plasma.drop(columns=PLASMA_META)
    prot_values = np.nan_to_num(_numeric(proteins.iloc[prot_rows]), nan=0.0)
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
    names = _unique(names)
    values = np.hstack([_numeric(clinical), prot_values, met_values])
    return Features(names, values, ["crew"], [[k[0]] for k in keys], notes)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}#{count + 1}")
    return result


def _columns(
    filename: str, columns: list[str]
) -> Callable[[Path, TaskTruth, str, list[str]], Features]:
    def build(source: Path, truth: TaskTruth, variant: str, files: list[str]) -> Features:
        table = _csv(source, filename, files)
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
    "G1": _g1,
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
