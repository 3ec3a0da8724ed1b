"""``airlock bundle import genelab``: GeneLab tasks as bundles.

Follows shared/specs/GENELAB_DATA_RECIPE.md.

Category A (A1-A6): one bundle per task and gene-set database, one fold per
leave-one-mission-out folder. Each sample's pathway scores come from its **own** mission's
GSVA file (``<tissue>/<mission>_gsva_<db>.csv``, or ``<mission>_*_gsva_<db>.csv`` for
skin MHU-2), matched by exact id, else by dropping a leading ``<mission>.`` (A2). Columns
are the gene sets present in every mission file the task uses, sorted. Category B (B1-B6):
one bundle per task with one fold per directed pair ``pair_<T>_<S>``: train on mission T's
test split of the A task, test on mission S's.

Participants' metadata keeps the mission and study descriptors; the ``label`` column and
per-sample QC flags are dropped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runner.bundle.manifest import sha256_file
from runner.bundle.write import Dataset, FoldSplit
from runner.errors import SourceError
from runner.suites.bundle_import import hosted_task_fields, write_imported

DATABASES = ("hallmark", "kegg", "reactome", "mitocarta")
TISSUES = {
    "A1": "liver",
    "A2": "gastrocnemius",
    "A3": "kidney",
    "A4": "thymus",
    "A5": "skin",
    "A6": "eye",
}
META_COLUMNS = ["mission", "osd_id", "strain", "duration_days", "tissue"]
CLASSES = ["ground", "flight"]


class GenelabSourceError(SourceError):
    """The source lacks what a task needs (the message names the file)."""


@dataclass
class Sample:
    id: str
    label: str
    meta: list[str]


@dataclass
class Built:
    bundle_id: str
    path: Path | None = None
    bundle_hash: str | None = None
    skipped: list[str] = field(default_factory=list)


def _read_labels(path: Path) -> list[tuple[str, float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [(row[0], float(row[1])) for row in rows[1:] if row]


def _read_meta(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in reader if row}


class ScoreFiles:
    """GSVA score lookup by (mission, sample id), loading each mission's file(s) once."""

    def __init__(self, source: Path, tissue: str, database: str) -> None:
        self.source = source
        self.directory = source / "processed" / "pathway_scores" / tissue
        self.database = database
        self._loaded: dict[str, tuple[dict[str, np.ndarray], list[str]]] = {}
        self.files: list[Path] = []

    def _mission(self, mission: str) -> tuple[dict[str, np.ndarray], list[str]]:
        if mission not in self._loaded:
            exact = self.directory / f"{mission}_gsva_{self.database}.csv"
            paths = (
                [exact]
                if exact.is_file()
                else sorted(self.directory.glob(f"{mission}_*_gsva_{self.database}.csv"))
            )
            if not paths:
                raise GenelabSourceError(
                    f"no score file {exact.name} (or {mission}_*_gsva_{self.database}.csv) "
                    f"in {self.directory.relative_to(self.source)}"
                )
            rows: dict[str, np.ndarray] = {}
            columns: list[str] | None = None
            for path in paths:
                self.files.append(path)
                with path.open(newline="", encoding="utf-8") as handle:
                    reader = csv.reader(handle)
                    header = next(reader)[1:]
                    for row in reader:
                        values = np.array(
                            [float(v) if v not in ("", "NA") else np.nan for v in row[1:]]
                        )
                        rows[row[0]] = (values, header)  # type: ignore[assignment]
                columns = header if columns is None else columns
            self._loaded[mission] = (rows, columns or [])
        return self._loaded[mission]

    def lookup(self, mission: str, sample_id: str) -> tuple[np.ndarray, list[str]]:
        rows, _ = self._mission(mission)
        entry = rows.get(sample_id)
        if entry is None and sample_id.startswith(f"{mission}."):
            entry = rows.get(sample_id.removeprefix(f"{mission}."))
        if entry is None:
            raise GenelabSourceError(
                f"sample {sample_id!r} (mission {mission}) not in the {self.database} score file(s)"
            )
        return entry  # type: ignore[return-value]


@dataclass
class _Fold:
    id: str
    train: list[Sample]
    test: list[Sample]


def _fold_samples(folder: Path, part: str) -> list[Sample]:
    labels = _read_labels(folder / f"{part}_y.csv")
    meta = _read_meta(folder / f"{part}_meta.csv")
    samples = []
    for sample_id, label in labels:
        row = meta.get(sample_id)
        if row is None:
            raise GenelabSourceError(f"{folder / (part + '_meta.csv')}: no row for {sample_id!r}")
        samples.append(
            Sample(sample_id, CLASSES[int(label)], [row.get(c, "") for c in META_COLUMNS])
        )
    return samples


def _task_folder(tasks: Path, task_id: str) -> Path:
    found = sorted(p for p in tasks.iterdir() if p.is_dir() and p.name.startswith(f"{task_id}_"))
    if len(found) != 1:
        raise GenelabSourceError(
            f"expected one folder {task_id}_* in {tasks}, found {[p.name for p in found]}"
        )
    return found[0]


def _lomo_folds(folder: Path, scores: ScoreFiles | None = None) -> tuple[list[_Fold], list[str]]:
    """The task's folds. A held-out fold is kept only when every test sample has scores
    (otherwise it is skipped, with the reason)."""
    folds, skipped = [], []
    for unit in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("fold_")):
        name = unit.name.removeprefix("fold_").removesuffix("_test")
        fold = _Fold(name, _fold_samples(unit, "train"), _fold_samples(unit, "test"))
        if "holdout" in unit.name:
            if scores is None:
                continue
            try:
                for sample in fold.test:
                    scores.lookup(sample.meta[0], sample.id)
            except GenelabSourceError as exc:
                skipped.append(f"{unit.name} skipped: {exc}")
                continue
        folds.append(fold)
    return folds, skipped


def _assemble(folds: list[_Fold], scores: ScoreFiles) -> tuple[Dataset, list[FoldSplit]]:
    """One row per distinct sample across folds; columns = gene sets non-missing everywhere."""
    samples: dict[str, Sample] = {}
    for fold in folds:
        for sample in [*fold.train, *fold.test]:
            samples.setdefault(sample.id, sample)
    vectors = {}
    common: set[str] | None = None
    for sample in samples.values():
        values, header = scores.lookup(sample.meta[0], sample.id)
        present = {name for name, v in zip(header, values, strict=True) if not np.isnan(v)}
        common = present if common is None else common & present
        vectors[sample.id] = dict(zip(header, values, strict=True))
    columns = sorted(common or set())
    ids = list(samples)
    position = {sample_id: n for n, sample_id in enumerate(ids)}
    matrix = np.array([[vectors[i][c] for c in columns] for i in ids], dtype=np.float64)
    data = Dataset(
        ids=ids,
        feature_names=columns,
        X=matrix,
        labels=np.array([samples[i].label for i in ids]),
        meta_columns=META_COLUMNS,
        meta=[samples[i].meta for i in ids],
    )
    splits = [
        FoldSplit(
            f.id,
            np.array([position[s.id] for s in f.train]),
            np.array([position[s.id] for s in f.test]),
        )
        for f in folds
    ]
    return data, splits


def _hashes(paths: list[Path], root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(set(paths))}


def _spec_fields(
    task_id: str,
    tissue: str,
    database: str,
    *,
    title: str,
    description: str,
    split: dict[str, str | None],
    files: dict[str, str],
    folds: list[FoldSplit],
) -> dict[str, object]:
    """``bundle.yaml`` of a GeneLab task bundle (flight vs ground, AUROC first)."""
    return {
        "id": f"genelab-{task_id}-{tissue}-pathway-{database}",
        "title": title,
        "description": description,
        "task_type": "binary",
        "classes": CLASSES,
        "positive_class": "flight",
        "metrics": {"primary": "auroc", "secondary": ["auprc", "accuracy"]},
        "split": split,
        "folds": [fold.id for fold in folds],
        "source": f"GeneLab benchmark (SpaceBio-Bench), pathway level ({database} GSVA scores); "
        "recipe: shared/specs/GENELAB_DATA_RECIPE.md",
        "source_files": files,
        **hosted_task_fields("genelab", task_id, f"pathway-{database}", memory="2GiB"),
    }


def import_category_a(
    source: Path,
    out: Path,
    task_id: str,
    database: str,
    *,
    salt_key: bytes | None = None,
    sealed_out: Path | None = None,
) -> Built:
    folder = _task_folder(source / "tasks", task_id)
    scores = ScoreFiles(source, TISSUES[task_id], database)
    folds, skipped = _lomo_folds(folder, scores)
    data, splits = _assemble(folds, scores)
    kept = {f.id for f in folds}
    label_files = [
        unit / f"{part}_{kind}.csv"
        for unit in sorted(folder.glob("fold_*"))
        if unit.name.removeprefix("fold_").removesuffix("_test") in kept
        for part in ("train", "test")
        for kind in ("y", "meta")
    ]
    files = _hashes([*label_files, *scores.files], source)
    fields = _spec_fields(
        task_id,
        TISSUES[task_id],
        database,
        title=f"GeneLab {task_id} ({TISSUES[task_id]}): spaceflight vs ground, "
        "leave one mission out",
        description=f"Flight (1) vs ground control (0) from per-mission GSVA {database} scores; "
        f"{len(splits)} folds, one mission held out each. " + " ".join(skipped),
        split={"kind": "leave-one-group-out", "group": "mission"},
        files=files,
        folds=splits,
    )
    path, bundle_hash = write_imported(
        out, fields, data, splits, salt_key=salt_key, sealed_out=sealed_out
    )
    return Built(str(fields["id"]), path, bundle_hash, skipped)


def import_category_b(
    source: Path,
    out: Path,
    task_id: str,
    database: str,
    *,
    salt_key: bytes | None = None,
    sealed_out: Path | None = None,
) -> Built:
    a_task = "A" + task_id[1:]
    a_folder = _task_folder(source / "tasks", a_task)
    b_folder = _task_folder(source / "tasks", task_id)
    by_mission = {f.id: f for f in _lomo_folds(a_folder)[0]}
    pairs = []
    for unit in sorted(p for p in b_folder.iterdir() if p.is_dir() and p.name.startswith("pair_")):
        train_mission, test_mission = _pair_missions(unit.name, by_mission)
        test = by_mission[test_mission].test
        expected = [(s.id, s.label) for s in test]
        published = [(i, CLASSES[int(v)]) for i, v in _read_labels(unit / "test_y.csv")]
        if expected != published:
            raise GenelabSourceError(
                f"{unit / 'test_y.csv'} differs from {a_task} fold {test_mission}'s test labels"
            )
        pairs.append(_Fold(unit.name.removeprefix("pair_"), by_mission[train_mission].test, test))
    scores = ScoreFiles(source, TISSUES[a_task], database)
    data, splits = _assemble(pairs, scores)
    label_files = [
        a_folder / f"fold_{m}_test" / f"test_{kind}.csv"
        for m in by_mission
        for kind in ("y", "meta")
    ]
    files = _hashes(
        [*label_files, *[b_folder / f"pair_{p.id}" / "test_y.csv" for p in pairs], *scores.files],
        source,
    )
    fields = _spec_fields(
        task_id,
        TISSUES[a_task],
        database,
        title=f"GeneLab {task_id} ({TISSUES[a_task]}): cross-mission transfer pairs",
        description=f"Train on one mission, test on another ({len(splits)} directed pairs); "
        f"per-mission GSVA {database} scores. No GO/NO-GO for Category B.",
        split={"kind": "predefined", "group": None},
        files=files,
        folds=splits,
    )
    path, bundle_hash = write_imported(
        out, fields, data, splits, salt_key=salt_key, sealed_out=sealed_out
    )
    return Built(str(fields["id"]), path, bundle_hash)


def _pair_missions(name: str, missions: dict[str, _Fold]) -> tuple[str, str]:
    body = name.removeprefix("pair_")
    for train in missions:
        if body.startswith(f"{train}_") and body.removeprefix(f"{train}_") in missions:
            return train, body.removeprefix(f"{train}_")
    raise GenelabSourceError(f"{name}: cannot split into two known missions {sorted(missions)}")


def gene_level_problem(source: Path, task_id: str) -> str | None:
    """Gene-level folds need train_X.csv/test_X.csv, which the public fold package lacks."""
    folder = _task_folder(source / "tasks", task_id)
    for unit in sorted(
        p for p in folder.iterdir() if p.is_dir() and p.name.startswith(("fold_", "pair_"))
    ):
        for name in ("train_X.csv", "test_X.csv"):
            if unit.name.startswith("fold_") and not (unit / name).is_file():
                return (
                    f"gene-level features absent: {unit / name} "
                    "(the public fold package does not ship them)"
                )
    return None
