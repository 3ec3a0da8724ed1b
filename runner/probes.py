"""Robustness probes: perturbed copies of a fold's test inputs (pure; seeded).

The runner holds the fitted model in the fold's container, so after the clean ``predict``
it can send the same test rows again, perturbed, and see how the predictions hold up
against the sealed labels (docs/robustness.md). Each function here turns the clean
:class:`~runner.bundle.load.PredictInputs` into a perturbed copy, deterministically from
(seed, fold, kind): the random draws of a kind are made once and scaled by the level
(common random numbers), so the features a sample loses at dropout 0.1 are among those it
loses at 0.25, and noise at strength 2 is the noise at strength 1 doubled. Curves are then
smooth in the level, and two runs with the same seed send the same bytes.

- ``dropout``: each test sample loses ``round(level x F)`` of its F features, chosen
  independently per sample; a lost value is *missing* (NaN, sent as ``null``), as in real
  data, not the training mean: filling in is the model's own business (the training mean
  would test the runner's imputation, and is exactly what a mean-imputing model does anyway).
- ``noise``: Gaussian noise with sd ``level x`` the feature's training sd (power SNR
  ``1 / level^2``); a constant feature gets none.
- ``shift``: a batch effect: per sample ``i`` draws ``u_i, v_i ~ N(0, 1)``; every feature
  ``j`` of it becomes ``mean_j + exp(level u_i) (x_ij - mean_j) + level v_i sd_j`` (a gain
  around the training mean and an offset in training sds, shared by all its features).
- ``permutation``: a sanity check. The table's columns are permuted together with their
  names; since ``hello`` fixes the order of ``X`` for the whole conversation, the runner
  presents the permuted table by name in that order, so the values sent are the clean ones.
  What does change is the row order (rows shuffled with their ids and meta), hence the
  batches: a deterministic model that reads rows by id answers exactly as on clean inputs.

Noisy and shifted values are rounded to the decimal digit of 1/1000 of the feature's
training sd (:func:`rounded`): finer than anything the perturbation can tell apart, and it
keeps their messages as short as the clean ones (a double written out in full takes 17
digits, three times what a measured value usually does).
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass

import numpy as np

from runner.bundle.load import PredictInputs
from runner.probe_settings import KINDS, Kind

RESOLUTION = 1e-3
"""Perturbed values are rounded to this share of the feature's training sd (a decimal digit)."""


@dataclass(frozen=True)
class TrainingSpread:
    """Each feature's training mean and population sd, in the test columns' order (a
    feature without any training value has mean 0 and sd 0: noise and offsets skip it)."""

    mean: np.ndarray
    sd: np.ndarray


def training_spread(
    train_names: list[str], train_x: np.ndarray, feature_names: list[str]
) -> TrainingSpread:
    """The spread of the training matrix, aligned by name to ``feature_names``."""
    position = {name: j for j, name in enumerate(train_names)}
    columns = np.array([position[name] for name in feature_names], dtype=np.int64)
    values = train_x[:, columns] if train_x.size else np.empty((0, len(columns)))
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    filled = np.where(present, values, 0.0)
    mean = np.divide(filled.sum(axis=0), counts, out=np.zeros(len(columns)), where=counts > 0)
    deviation = np.where(present, values - mean, 0.0)
    variance = np.divide(
        (deviation**2).sum(axis=0), counts, out=np.zeros(len(columns)), where=counts > 0
    )
    return TrainingSpread(mean=mean, sd=np.sqrt(variance))


def rng_for(seed: int, fold_id: str, kind: Kind) -> np.random.Generator:
    """The generator of one kind on one fold: the same for every level of the kind."""
    return np.random.default_rng([seed, zlib.crc32(fold_id.encode()), KINDS.index(kind)])


def perturb(
    inputs: PredictInputs,
    kind: Kind,
    level: float,
    spread: TrainingSpread,
    rng: np.random.Generator,
) -> PredictInputs:
    """A perturbed copy of ``inputs`` (same ids; see the module docstring for each kind).
    ``rng`` must be fresh from :func:`rng_for`: the draws are the kind's, level-free."""
    if kind == "dropout":
        return dataclasses.replace(inputs, X=dropout(inputs.X, level, rng))
    if kind == "noise":
        noise = rng.standard_normal(inputs.X.shape)
        return dataclasses.replace(inputs, X=rounded(inputs.X + level * spread.sd * noise, spread))
    if kind == "shift":
        return dataclasses.replace(inputs, X=rounded(shift(inputs.X, level, spread, rng), spread))
    return permutation(inputs, rng)


def dropout(x: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """``round(level x F)`` values of every row set to NaN, the row's own random choice."""
    n_rows, n_features = x.shape
    lost = min(n_features, round(level * n_features))
    order = np.argsort(rng.random((n_rows, n_features)), axis=1)[:, :lost]
    out = x.copy()
    out[np.arange(n_rows)[:, None], order] = np.nan
    return out


def shift(
    x: np.ndarray, level: float, spread: TrainingSpread, rng: np.random.Generator
) -> np.ndarray:
    """Per-sample gain ``exp(level u_i)`` around the training mean, plus an offset of
    ``level v_i`` training sds."""
    draws = rng.standard_normal((2, x.shape[0], 1))
    gain, offset = np.exp(level * draws[0]), level * draws[1]
    out: np.ndarray = spread.mean + gain * (x - spread.mean) + offset * spread.sd
    return out


def rounded(x: np.ndarray, spread: TrainingSpread) -> np.ndarray:
    """Each column rounded to the decimal digit of :data:`RESOLUTION` x its training sd
    (tens, units, tenths, ...); columns without spread are left as they are."""
    out = x.copy()
    varying = spread.sd > 0
    decimals = np.zeros(spread.sd.shape, dtype=np.int64)
    decimals[varying] = -np.floor(np.log10(spread.sd[varying] * RESOLUTION)).astype(np.int64)
    for digits in np.unique(decimals[varying]):
        columns = varying & (decimals == digits)
        out[:, columns] = np.round(x[:, columns], int(digits))
    return out


def permute_columns(
    names: list[str], x: np.ndarray, rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """The same table with its columns in a random order, each keeping its name."""
    order = rng.permutation(len(names))
    return [names[j] for j in order], x[:, order]


def by_name(names: list[str], x: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """The columns of a named table in ``feature_names`` order: how the protocol presents
    any table (``X`` follows ``hello``'s ``feature_names``)."""
    position = {name: j for j, name in enumerate(names)}
    return x[:, [position[name] for name in feature_names]]


def permutation(inputs: PredictInputs, rng: np.random.Generator) -> PredictInputs:
    """Columns permuted with their names and presented by name; rows shuffled with their
    ids and meta."""
    names, permuted = permute_columns(inputs.feature_names, inputs.X, rng)
    x = by_name(names, permuted, inputs.feature_names)
    rows = rng.permutation(len(inputs.ids))
    return dataclasses.replace(
        inputs,
        ids=[inputs.ids[i] for i in rows],
        X=x[rows],
        meta=[inputs.meta[i] for i in rows],
    )
