"""Ground truth of each SpaceOmicsBench task: rows, labels, folds, class list, metrics.

Follows ../shared/specs/SPACEOMICSBENCH_TASKS.md. Rows are in the task's row order (the
split files hold positions into it); fold test rows are in the order the split file
writes them. Where the upstream harness is known to be wrong, the corrected truth is used
and a warning says so (F3). Tasks whose defining file is absent raise SourceMissing; no
truth is ever guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runner.errors import SourceError

TASK_IDS = (
    "A1", "A2", "B1", "B2", "C1", "C2", "D1", "E1", "E2", "E3", "E4",
    "F1", "F2", "F3", "F4", "F5", "G1", "H1", "I1", "I2", "I3",
)  # fmt: skip
PHASES_CLINICAL = ["pre_flight", "post_flight", "recovery"]
PHASES_MICROBIOME = ["pre_flight", "in_flight", "post_flight", "recovery"]
TASK_TYPES = {
    "binary_classification": "binary",
    "multi_class_classification": "multiclass",
    "multilabel_classification": "multilabel",
}


class SourceMissing(SourceError):
    """A file that defines the task's rows or labels is absent from the source."""

    def __init__(self, filename: str) -> None:
        super().__init__(f"source file missing: {filename}")
        self.filename = filename


class SourceInvalid(SourceError):
    """The source is there but does not have the shape the task contract says."""


@dataclass(frozen=True)
class Fold:
    name: str
    test: np.ndarray
    train: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    """The split file's entry without its index lists, in file order (the harness's
    ``split_info``)."""


@dataclass(frozen=True)
class TaskTruth:
    """Everything needed to score predictions for one task.

    ``y``: binary 0/1 (n,); multiclass class indices into ``outputs`` (n,); multilabel (n, L).
    ``task_name``, ``harness_task_type`` and ``n_samples`` are the task JSON's values, which
    the harness copies into its output; ``direction_concordance`` is C2's task-level figure.
    """

    task_id: str
    task_type: str
    primary_metric: str
    secondary_metrics: list[str]
    outputs: list[str]
    ids: list[str]
    y: np.ndarray
    split: str
    folds: list[Fold]
    warnings: list[str] = field(default_factory=list)
    task_name: str = ""
    harness_task_type: str = ""
    n_samples: int = 0
    direction_concordance: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _csv(source: Path, name: str) -> pd.DataFrame:
    path = source / "data" / "processed" / name
    if not path.is_file():
        raise SourceMissing(name)
    return pd.read_csv(path)


def _classes(series: pd.Series, classes: list[str], what: str) -> np.ndarray:
    unknown = sorted(set(series.astype(str)) - set(classes))
    if unknown:
        raise SourceInvalid(f"{what}: values {unknown[:5]} are not among {classes}")
    index = {c: k for k, c in enumerate(classes)}
    return np.array([index[v] for v in series.astype(str)], dtype=np.int64)


def _binary(series: pd.Series, what: str) -> np.ndarray:
    codes = {"true": 1, "false": 0, "1": 1, "0": 0, "1.0": 1, "0.0": 0}
    mapped = series.astype(str).str.strip().str.lower().map(codes)
    if mapped.isna().any():
        raise SourceInvalid(f"{what}: expected 0/1 or True/False labels")
    return mapped.to_numpy(dtype=np.int64)


Built = tuple[list[str], np.ndarray, list[str]]
"""(row ids, labels, outputs: class or label names)"""


def _clinical_phase(source: Path) -> Built:
    cbc = _csv(source, "clinical_cbc.csv")
    return (
        cbc["sample_id"].astype(str).tolist(),
        _classes(cbc["phase"], PHASES_CLINICAL, "clinical_cbc.csv phase"),
        PHASES_CLINICAL,
    )


def _b1(source: Path) -> Built:
    # The rows are the genes of the noleak DE table, in its order: without it, no truth.
    if not (source / "data" / "processed" / "cfrna_3group_de_noleak.csv").is_file():
        raise SourceMissing("cfrna_3group_de_noleak.csv")
    table = _csv(source, "cfrna_3group_de_noleak.csv")
    drr = set(_csv(source, "cfrna_466drr.csv").iloc[:, 0].astype(str))
    genes = table["gene"].astype(str)
    return genes.tolist(), genes.isin(drr).to_numpy(dtype=np.int64), ["0", "1"]


def _b2(source: Path) -> Built:
    table = _csv(source, "gt_cfrna_cluster_labels.csv")
    labels = [c for c in table.columns if c != "gene"]
    values = table[labels].to_numpy()
    if not np.isin(values, [0, 1]).all():
        raise SourceInvalid("gt_cfrna_cluster_labels.csv: expected 0/1 cells")
    return table["gene"].astype(str).tolist(), values.astype(np.int64), labels


def _c1(source: Path) -> Built:
    table = _csv(source, "proteomics_plasma_matrix.csv")
    return (
        table["sample_id"].astype(str).tolist(),
        _classes(table["phase"], PHASES_CLINICAL, "proteomics_plasma_matrix.csv phase"),
        PHASES_CLINICAL,
    )


def _c2_tables(source: Path) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    plasma = _csv(source, "proteomics_plasma_de_clean.csv").set_index("gene")
    evp = _csv(source, "proteomics_evp_de_clean.csv").set_index("gene")
    genes = sorted(set(plasma.index.astype(str)) & set(evp.index.astype(str)))
    return genes, plasma, evp


def _c2(source: Path) -> Built:
    genes, _, evp = _c2_tables(source)
    return genes, (evp.loc[genes, "adj_pval"] < 0.05).to_numpy(dtype=np.int64), ["0", "1"]


def direction_concordance(source: Path) -> dict[str, Any]:
    """C2's reported figure: share of shared proteins whose plasma and EVP logFC agree in sign.

    Over the proteins where both logFC are numbers (all 380 here), with the harness's keys:
    ``direction_concordance``, ``n_valid``, ``n_concordant`` (only the first two, the share
    null, when no protein qualifies).
    """
    genes, plasma, evp = _c2_tables(source)
    a = pd.to_numeric(plasma.loc[genes, "logFC"], errors="coerce").to_numpy(dtype=np.float64)
    b = pd.to_numeric(evp.loc[genes, "logFC"], errors="coerce").to_numpy(dtype=np.float64)
    valid = ~(np.isnan(a) | np.isnan(b))
    if not valid.any():
        return {"direction_concordance": None, "n_valid": 0}
    same = int(np.sum(np.sign(a[valid]) == np.sign(b[valid])))
    n_valid = int(valid.sum())
    return {
        "direction_concordance": float(same / n_valid),
        "n_valid": n_valid,
        "n_concordant": same,
    }


def _d1(source: Path) -> Built:
    table = _csv(source, "metabolomics_spaceflight_response.csv")
    return (
        table["metabolite"].astype(str).tolist(),
        _binary(table["is_spaceflight_de"], "is_spaceflight_de"),
        ["0", "1"],
    )


_LAYER = {
    "E1": "gt_spatial_de_outer_epidermis.csv",
    "E2": "gt_spatial_de_inner_epidermis.csv",
    "E3": "gt_spatial_de_outer_dermis.csv",
    "E4": "gt_spatial_de_epidermis.csv",
}


def _spatial(task: str) -> Callable[[Path], Built]:
    def build(source: Path) -> Built:
        table = _csv(source, _LAYER[task])
        labels = (table["adj_pval"].fillna(1.0) < 0.05).to_numpy(dtype=np.int64)
        return table["gene"].astype(str).tolist(), labels, ["0", "1"]

    return build


def _human_microbiome(column: str, classes: list[str] | None) -> Callable[[Path], Built]:
    def build(source: Path) -> Built:
        meta = _csv(source, "microbiome_metadata.csv")
        human = meta[meta["source"] == "human"]
        names = classes or sorted(set(human[column].astype(str)))
        return (
            human["sample_id"].astype(str).tolist(),
            _classes(human[column], names, f"microbiome_metadata {column}"),
            names,
        )

    return build


def _f3(source: Path) -> Built:
    meta = _csv(source, "microbiome_metadata.csv")
    human = meta[meta["source"] == "human"]["sample_id"].astype(str).tolist()
    environment = meta[meta["source"] == "environmental"]["sample_id"].astype(str).tolist()
    labels = np.r_[np.ones(len(human), dtype=np.int64), np.zeros(len(environment), dtype=np.int64)]
    return human + environment, labels, ["environmental", "human"]


def _g1(source: Path) -> Built:
    cbc = _csv(source, "clinical_cbc.csv")
    proteomics = _csv(source, "proteomics_metadata.csv")
    metabolomics = _csv(source, "metabolomics_metadata.csv")

    def keys(frame: pd.DataFrame) -> set[tuple[str, int]]:
        return set(zip(frame["crew"].astype(str), frame["timepoint_days"].astype(int), strict=True))

    matched = keys(proteomics[proteomics["tissue"] == "plasma"]) & keys(metabolomics)
    rows = cbc[
        [
            (c, int(d)) in matched
            for c, d in zip(cbc["crew"].astype(str), cbc["timepoint_days"], strict=True)
        ]
    ]
    return (
        rows["sample_id"].astype(str).tolist(),
        _classes(rows["phase"], PHASES_CLINICAL, "clinical_cbc.csv phase"),
        PHASES_CLINICAL,
    )


def _labelled(filename: str, id_column: str | None, label: str) -> Callable[[Path], Built]:
    def build(source: Path) -> Built:
        table = _csv(source, filename)
        ids = (
            table[id_column].astype(str).tolist()
            if id_column
            else [str(i) for i in range(len(table))]
        )
        return ids, _binary(table[label], f"{filename} {label}"), ["0", "1"]

    return build


BUILDERS: dict[str, Callable[[Path], Built]] = {
    "A1": _clinical_phase,
    "A2": _clinical_phase,
    "B1": _b1,
    "B2": _b2,
    "C1": _c1,
    "C2": _c2,
    "D1": _d1,
    **{task: _spatial(task) for task in _LAYER},
    "F1": _human_microbiome("body_site", None),
    "F2": _human_microbiome("phase", PHASES_MICROBIOME),
    "F3": _f3,
    "F4": _human_microbiome("body_site", None),
    "F5": _human_microbiome("phase", PHASES_MICROBIOME),
    "G1": _g1,
    "H1": _labelled("conserved_pbmc_to_skin.csv", None, "skin_de"),  # ids: row positions
    "I1": _labelled("cross_mission_hemoglobin_de.csv", "gene", "label"),
    "I2": _labelled("cross_mission_pathway_features.csv", "pathway", "label"),
    "I3": _labelled("cross_mission_gene_de.csv", "gene", "label"),
}
_WARNINGS = {
    "F3": [
        "the upstream harness builds F3 truth with the environmental rows first, which does not "
        "match the split (humans first); scored with the corrected, human-first truth"
    ],
}


def load_task(source: Path, task_id: str) -> TaskTruth:
    """The truth of ``task_id`` from a SpaceOmicsBench checkout at ``source``."""
    if task_id not in BUILDERS:
        raise SourceInvalid(f"unknown task {task_id!r}; tasks are {', '.join(TASK_IDS)}")
    definition_path = source / "tasks" / f"{task_id}.json"
    if not definition_path.is_file():
        raise SourceMissing(f"tasks/{task_id}.json")
    definition = json.loads(definition_path.read_text())
    ids, y, outputs = BUILDERS[task_id](source)
    split_path = source / "splits" / f"{definition['split']}.json"
    if not split_path.is_file():
        raise SourceMissing(f"splits/{definition['split']}.json")
    folds = []
    for number, entry in enumerate(json.loads(split_path.read_text())):
        name = str(
            entry.get("test_crew")
            or entry.get("test_timepoint")
            or f"rep{entry.get('rep', number)}"
        )
        test = np.asarray(entry["test_indices"], dtype=np.int64)
        train = np.asarray(entry["train_indices"], dtype=np.int64)
        if test.size and (test.max() >= len(ids) or test.min() < 0):
            raise SourceInvalid(
                f"splits/{definition['split']}.json fold {number}: "
                f"test index outside the {len(ids)} rows"
            )
        info = {k: v for k, v in entry.items() if k not in ("train_indices", "test_indices")}
        folds.append(Fold(name, test, train, info))
    evaluation = definition.get("evaluation", {})
    notes = []
    task_name = definition.get("task_name")
    if not isinstance(task_name, str) or not task_name:
        task_name = task_id
        notes.append(f"tasks/{task_id}.json has no task_name; task_name is the task id")
    n_samples = definition.get("n_samples")
    if type(n_samples) is not int or n_samples < 0:
        n_samples = len(ids)
        notes.append(f"tasks/{task_id}.json has no n_samples; n_samples is the number of rows")
    return TaskTruth(
        task_id=task_id,
        task_type=TASK_TYPES[definition["task_type"]],
        primary_metric=evaluation.get("primary_metric", ""),
        secondary_metrics=list(evaluation.get("secondary_metrics", [])),
        outputs=outputs,
        ids=ids,
        y=y,
        split=definition["split"],
        folds=folds,
        warnings=list(_WARNINGS.get(task_id, [])),
        task_name=task_name,
        harness_task_type=str(definition["task_type"]),
        n_samples=n_samples,
        notes=notes,
        direction_concordance=direction_concordance(source) if task_id == "C2" else None,
    )
