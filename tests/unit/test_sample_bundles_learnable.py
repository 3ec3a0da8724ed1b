"""The sample bundles can be learned from their features only: no shortcut through sample
ids, row order or metadata.

The first sample bundles leaked: synth-loco-3class published each sample's timepoint (in the
id and in meta.csv), which fixes its label, and synth-lomo-highdim alternated flight and
ground, so an id's parity and a row's position gave the label. Here, for every bundle in
task_bundles/ and every fold, a *shortcut model* sees ONE source of information:

(a) the id string, in two views: "id-text", its character 1- to 3-grams, first and last
    characters and length; "id-number", the parity, residue modulo 3 and order of magnitude
    of its last run of digits and its rank among the ids of its file;
(b) "position", the row's position in its file: its tenth of the file and its position
    modulo 2 to 8 (which catches alternating rows and blocks such as 7 timepoints per crew);
(c) "meta:<column>", one meta column, except the split's grouping column (crew, mission),
    whose test values never occur in training in a leave-one-group-out fold (checked below).

The model is a multinomial naive Bayes over those binary features with uniform class priors
(so it cannot hide behind the majority class; one per label for multilabel tasks). It is
fitted on the training rows, predicts the test rows and is scored with the bundle's primary
metric against the sealed labels (sealed/<fold>/y.csv), averaged over the folds as
`airlock run` reports it.

"At chance" (the tolerance) is decided by a permutation test of the whole evaluation: the
labels are shuffled among the samples that share their place in the split design (the same
test folds: the same crew or mission, the same k-fold fold, the same holdout memberships),
which keeps every fold's class counts as generated, and the cross-validation is rerun
PERMUTATIONS = 1000 times. Under "the source carries no information about the labels" the
real mean score is one more draw from that distribution, whatever the metric, fold sizes and
class balance (it centres on 0.5 for AUROC and on the prevalence for AUPRC; a constant
predictor scores the same under every shuffle). The test fails when the two-sided
permutation p-value is below ALPHA = 0.01: scoring far above chance is a shortcut, and far
below it one too (flip the predictions). A fixed margin would not do: on 7-row test folds
macro-F1 swings by +-0.2 by chance alone, while on 1,000-row folds a rise of 0.01 in AUPRC
is already a leak. On the first bundles the id text, the position and the timepoint column
of synth-loco-3class, and the id text, id number and position of synth-lomo-highdim, scored
1.0 (0.999) with p = 2/1001, the smallest possible. Failure messages give the shortcut's
score, the null's median and central 99 % and the score of the constant (majority)
predictor.

test_planted_leaks_are_caught plants each kind of leak in copies of every bundle's folds and
requires p < ALPHA, so a pass means the check had the power to see one. The generator is also
run twice: it must be deterministic and must write exactly the committed bundles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from runner.bundle.load import read_spec
from runner.bundle.spec import BundleSpec
from runner.bundle.synth import GENERATORS
from runner.scoring.metrics import Target, compute
from runner.task_types import TaskType
from tests.helpers import SAMPLES

ALPHA = 0.01
PERMUTATIONS = 1000
CHUNK = 125  # permutations fitted at once (memory: features x outputs x CHUNK)
BUNDLES = sorted(p.name for p in SAMPLES.iterdir() if (p / "bundle.yaml").is_file())

Features = list[list[str]]  # the names of each row's binary features


@dataclass(frozen=True)
class Part:
    """The train or test rows of a fold in file order: ids, meta columns and each row's
    sample number (an index into ``Samples.y``)."""

    ids: list[str]
    meta: pd.DataFrame
    rows: np.ndarray

    def reordered(self, order: np.ndarray) -> Part:
        return Part([self.ids[i] for i in order], self.meta.iloc[order], self.rows[order])


@dataclass(frozen=True)
class Fold:
    id: str
    train: Part
    test: Part


@dataclass(frozen=True)
class Samples:
    """A bundle: its spec, every sample's label (class index, or a 0/1 row for multilabel
    tasks), its folds, and each sample's design cell (which test folds it belongs to)."""

    spec: BundleSpec
    y: np.ndarray
    folds: list[Fold]
    cells: np.ndarray


View = Callable[[Part], Features]


def _read(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)


@cache
def _load(name: str) -> Samples:
    bundle = SAMPLES / name
    spec, problems = read_spec(bundle)
    assert spec is not None, problems
    number: dict[str, int] = {}
    labels: dict[int, tuple[int, ...]] = {}
    folds = []
    for fold_id in spec.folds:
        parts = {}
        for part, label_file in (
            ("train", bundle / "folds" / fold_id / "train" / "y.csv"),
            ("test", bundle / "sealed" / fold_id / "y.csv"),
        ):
            base = bundle / "folds" / fold_id / part
            meta, y = _read(base / "meta.csv"), _read(label_file)
            ids = list(meta["id"])
            assert list(_read(base / "X.csv", ["id"])["id"]) == ids, (name, fold_id)
            assert list(y["id"]) == ids, (name, fold_id)
            if spec.task_type is TaskType.MULTILABEL:
                values = [tuple(r) for r in y[list(spec.labels)].astype(int).to_numpy().tolist()]
            else:
                values = [(spec.classes.index(v),) for v in y["label"]]
            rows = np.array([number.setdefault(i, len(number)) for i in ids])
            for row, value in zip(rows.tolist(), values, strict=True):
                assert labels.setdefault(row, value) == value, (name, fold_id, "label differs")
            parts[part] = Part(ids, meta.drop(columns="id"), rows)
        folds.append(Fold(fold_id, parts["train"], parts["test"]))
    n = len(number)
    for fold in folds:  # every fold covers every sample once
        assert sorted(np.concatenate([fold.train.rows, fold.test.rows]).tolist()) == list(range(n))
    y = np.array([labels[i] for i in range(n)])
    if spec.task_type is not TaskType.MULTILABEL:
        y = y[:, 0]
    membership = np.zeros((n, len(folds)), dtype=int)
    for f, fold in enumerate(folds):
        membership[fold.test.rows, f] = 1
    cells = np.unique(membership, axis=0, return_inverse=True)[1].ravel()
    return Samples(spec, y, folds, cells)


# --- the three sources of information ---------------------------------------------------


def _tenth(i: int, n: int) -> int:
    return min(9, i * 10 // max(n, 1))


def id_text_view(part: Part) -> Features:
    """The id's characters: 1- to 3-grams, first and last characters, length."""
    return [
        [
            f"length={len(sample)}",
            f"first={sample[:1]}",
            f"last={sample[-1:]}",
            f"last2={sample[-2:]}",
            *(
                f"gram={sample[start : start + size]}"
                for size in (1, 2, 3)
                for start in range(len(sample) - size + 1)
            ),
        ]
        for sample in part.ids
    ]


def id_number_view(part: Part) -> Features:
    """The id's last run of digits (parity, residue mod 3, order of magnitude) and the id's
    rank among its file's ids."""
    n = len(part.ids)
    rank = {sample: r for r, sample in enumerate(sorted(part.ids))}
    rows = []
    for sample in part.ids:
        features = [f"rank_tenth={_tenth(rank[sample], n)}"]
        digits = re.findall(r"\d+", sample)
        if digits:
            value = int(digits[-1])
            features += [
                f"number_odd={value % 2}",
                f"number_mod3={value % 3}",
                f"number_magnitude={math.floor(math.log10(1 + value))}",
            ]
        rows.append(features)
    return rows


def position_view(part: Part) -> Features:
    n = len(part.ids)
    return [[f"tenth={_tenth(i, n)}", *(f"mod{m}={i % m}" for m in range(2, 9))] for i in range(n)]


def meta_view(column: str) -> View:
    def view(part: Part) -> Features:
        return [[f"value={value}"] for value in part.meta[column]]

    return view


# --- the shortcut model, refitted under every permutation at once --------------------------


def _matrices(train: Features, test: Features) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """0/1 matrices over the features seen in at least two training rows (one row teaches
    nothing that could carry over)."""
    seen: dict[str, int] = {}
    for row in train:
        for name in set(row):
            seen[name] = seen.get(name, 0) + 1
    column = {name: j for j, name in enumerate(n for n, count in seen.items() if count >= 2)}

    def matrix(rows: Features) -> sparse.csr_matrix:
        cells = [sorted({column[f] for f in row if f in column}) for row in rows]
        indices = np.array([j for row in cells for j in row], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum([len(row) for row in cells])])
        shape = (len(rows), len(column))
        return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=shape)

    return matrix(train), matrix(test)


def _indicators(spec: BundleSpec, y: np.ndarray) -> np.ndarray:
    """(n, outputs) 0/1: the positive class, each class, or each label."""
    if spec.task_type is TaskType.MULTILABEL:
        return y.astype(float)
    if spec.task_type is TaskType.BINARY:
        return (y == spec.classes.index(spec.positive_class or ""))[:, None].astype(float)
    return (y[:, None] == np.arange(len(spec.classes))).astype(float)


def _log_likelihoods(
    train: sparse.csr_matrix, test: sparse.csr_matrix, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial naive Bayes over the present features with add-one smoothing, one model
    per column of ``targets`` (n_train, m): log P(test row | 1) and log P(test row | 0) up
    to the same constant, each (n_test, m)."""
    features = train.shape[1]
    present = np.asarray(train.sum(axis=0)).ravel()[:, None]
    ones = np.asarray(train.T @ targets)
    result = []
    for count in (ones, present - ones):
        log_theta = np.log(count + 1.0) - np.log(count.sum(axis=0) + features)
        result.append(np.asarray(test @ log_theta))
    return result[0], result[1]


def _predict(
    spec: BundleSpec, train: sparse.csr_matrix, test: sparse.csr_matrix, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Hard predictions and scores for every labelling in ``targets`` (n_train, outputs, b):
    (b, n_test[, outputs]) each."""
    n_train, outputs, b = targets.shape
    log1, log0 = _log_likelihoods(train, test, targets.reshape(n_train, outputs * b))
    log1, log0 = log1.reshape(-1, outputs, b), log0.reshape(-1, outputs, b)
    if spec.task_type is TaskType.MULTICLASS:
        return np.moveaxis(np.argmax(log1, axis=1), 1, 0), None
    odds = np.moveaxis(log1 - log0, 2, 0)  # (b, n_test, outputs)
    if spec.task_type is TaskType.BINARY:
        odds = odds[:, :, 0]
    return (odds > 0).astype(int), odds


def _score(
    spec: BundleSpec, truth: np.ndarray, hard: np.ndarray, score: np.ndarray | None
) -> float:
    if spec.task_type is TaskType.BINARY:
        truth = (truth == spec.classes.index(spec.positive_class or "")).astype(int)
    value = compute([spec.metrics.primary], Target(truth, hard, score, len(spec.outputs)))
    result = value.values[spec.metrics.primary]
    assert result is not None, value.notes
    return result


def _constant(spec: BundleSpec, train_y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The majority predictor (most frequent class, or value per label), constant scores."""
    if spec.task_type is TaskType.MULTILABEL:
        prevalence = train_y.mean(axis=0)
        return np.tile(prevalence > 0.5, (n, 1)).astype(int), np.tile(prevalence, (n, 1))
    share = np.bincount(train_y, minlength=len(spec.classes)) / len(train_y)
    hard = np.full(n, int(np.argmax(share)))
    if spec.task_type is TaskType.BINARY:
        return hard, np.full(n, share[spec.classes.index(spec.positive_class or "")])
    return hard, np.tile(share, (n, 1))


@dataclass(frozen=True)
class Verdict:
    score: float
    null: np.ndarray
    constant: float

    @property
    def p(self) -> float:
        """Two-sided permutation p-value (the real labelling counts as one draw)."""
        above = 1 + int(np.sum(self.null >= self.score - 1e-12))
        below = 1 + int(np.sum(self.null <= self.score + 1e-12))
        return min(1.0, 2 * min(above, below) / (len(self.null) + 1))

    def __str__(self) -> str:
        low, mid, high = np.quantile(self.null, [ALPHA / 2, 0.5, 1 - ALPHA / 2])
        return (
            f"shortcut {self.score:.3f}; permutation null median {mid:.3f}, central "
            f"{1 - ALPHA:.0%} [{low:.3f}, {high:.3f}]; constant predictor {self.constant:.3f}; "
            f"p = {self.p:.4f}"
        )


def _permuted_labels(samples: Samples, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """``n`` labellings shuffled within each design cell (whole label rows for multilabel
    tasks)."""
    grouped = np.argsort(samples.cells, kind="stable")  # the samples, cell by cell
    labellings = []
    for _ in range(n):
        shuffled = np.lexsort((rng.random(len(grouped)), samples.cells))  # same cells, new order
        order = np.empty_like(grouped)
        order[grouped] = shuffled
        labellings.append(samples.y[order])
    return labellings


@cache
def _labellings(name: str) -> tuple[list[np.ndarray], np.ndarray]:
    """The real labelling and PERMUTATIONS shuffled ones (the same for every check of a
    bundle), and their model targets stacked (samples, outputs, labellings)."""
    samples = _load(name)
    rng = np.random.default_rng(20261123)
    labellings = [samples.y, *_permuted_labels(samples, rng, PERMUTATIONS)]
    return labellings, np.stack([_indicators(samples.spec, y) for y in labellings], axis=2)


def shortcut_verdict(samples: Samples, view: View) -> Verdict:
    spec = samples.spec
    labellings, indicators = _labellings(spec.id)
    totals = np.zeros(len(labellings))
    constant = 0.0
    for fold in samples.folds:
        train, test = _matrices(view(fold.train), view(fold.test))
        for start in range(0, len(labellings), CHUNK):
            chunk = slice(start, start + CHUNK)
            hard, score = _predict(spec, train, test, indicators[fold.train.rows, :, chunk])
            for offset, y in enumerate(labellings[chunk]):
                totals[start + offset] += _score(
                    spec, y[fold.test.rows], hard[offset], None if score is None else score[offset]
                )
        constant += _score(
            spec,
            samples.y[fold.test.rows],
            *_constant(spec, samples.y[fold.train.rows], len(fold.test.rows)),
        )
    means = totals / len(samples.folds)
    return Verdict(float(means[0]), means[1:], constant / len(samples.folds))


# --- the sample bundles -----------------------------------------------------------------------


def _meta_columns(name: str) -> list[str]:
    samples = _load(name)
    return [c for c in samples.folds[0].train.meta.columns if c != samples.spec.split.group]


VIEWS: dict[str, View] = {
    "id-text": id_text_view,
    "id-number": id_number_view,
    "position": position_view,
}


def _view(kind: str) -> View:
    return VIEWS.get(kind) or meta_view(kind.removeprefix("meta:"))


CHECKS = [
    pytest.param(name, kind, id=f"{name}-{kind}")
    for name in BUNDLES
    for kind in [*VIEWS, *(f"meta:{c}" for c in _meta_columns(name))]
]


@pytest.mark.parametrize(("name", "kind"), CHECKS)
def test_no_shortcut_scores_other_than_chance(name: str, kind: str) -> None:
    verdict = shortcut_verdict(_load(name), _view(kind))
    p = verdict.p
    assert p >= ALPHA, f"{name}: the {kind} alone predicts the labels: {verdict}"


def test_ids_are_opaque_and_grouping_values_never_cross_a_split() -> None:
    for name in BUNDLES:
        samples = _load(name)
        group = samples.spec.split.group
        assert "timepoint" not in samples.folds[0].train.meta.columns, name
        for fold in samples.folds:
            for part in (fold.train, fold.test):
                assert all(re.fullmatch(r"s[0-9a-f]{6}", i) for i in part.ids), (name, fold.id)
            if group is not None:  # why the grouping column is not checked
                crossing = set(fold.train.meta[group]) & set(fold.test.meta[group])
                assert not crossing, (name, fold.id, crossing)


# --- the check has the power to see a leak ------------------------------------------------


def _codes(samples: Samples, part: Part) -> list[str]:
    """Each row's label as text: the class's letter, or the letters of the labels present."""
    y = samples.y[part.rows]
    if samples.spec.task_type is TaskType.MULTILABEL:
        return ["".join(chr(97 + j) for j in np.flatnonzero(row)) or "-" for row in y]
    return [chr(97 + int(v)) for v in y]


def _plant(samples: Samples, part: Part, kind: str) -> Part:
    """A copy of ``part`` whose ids, order or meta give the labels away."""
    y = samples.y[part.rows]
    if samples.spec.task_type is TaskType.MULTILABEL:
        common = int(np.argmax(samples.y.mean(axis=0)))
        key = y[:, common]  # what numbers and order can carry: the most common label
        order = np.lexsort(y[:, np.argsort(samples.y.mean(axis=0), kind="stable")].T)
    else:
        key = y
        order = np.argsort(y, kind="stable")
    if kind == "id-text":  # like "C1_L-92": a letter in the id names the label
        return replace(part, ids=[f"r{i:04d}{c}" for i, c in enumerate(_codes(samples, part))])
    if kind == "id-number":  # like "M1_07": the number's residue gives the label
        return replace(part, ids=[f"r{3 * i + int(v)}" for i, v in enumerate(key)])
    if kind == "position":  # rows sorted by label
        return part.reordered(order)
    return replace(part, meta=part.meta.assign(planted=_codes(samples, part)))


@pytest.mark.parametrize("name", BUNDLES)
@pytest.mark.parametrize("kind", [*VIEWS, "meta:planted"])
def test_planted_leaks_are_caught(name: str, kind: str) -> None:
    samples = _load(name)
    where = kind.removeprefix("meta:")
    planted = [
        Fold(f.id, _plant(samples, f.train, where), _plant(samples, f.test, where))
        for f in samples.folds
    ]
    verdict = shortcut_verdict(replace(samples, folds=planted), _view(kind))
    p = verdict.p
    assert p < ALPHA, f"{name}: a planted {kind} leak went unseen: {verdict}"


# --- determinism ----------------------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_the_generator_is_deterministic_and_wrote_the_committed_bundles(tmp_path: Path) -> None:
    for run in ("a", "b"):
        for name, generate in GENERATORS.items():
            generate(tmp_path / run / name)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first == second
    assert sorted(GENERATORS) == BUNDLES
    committed = _files(SAMPLES)
    differing = sorted(
        set(first) ^ set(committed) | {k for k in first if first[k] != committed.get(k)}
    )
    assert not differing, (
        f"task_bundles/ differs from the generator's output in {differing[:5]}; "
        "regenerate with `airlock bundle synth --out task_bundles`"
    )
