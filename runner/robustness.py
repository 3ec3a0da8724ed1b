"""A fold's robustness probes through the fold's stages (docs/robustness.md):

- :func:`prepare_probes` (stage 1): the series to send after the clean predict, each a
  perturbed copy of the test inputs built when its turn comes (runner/probes.py);
- :func:`judge_probes` (stage 3): each series' replies checked like the clean ones, or the
  way it failed, typed by the same verdict table (a probe's failure is never the fold's);
- :func:`measure_probes` (stage 4, labels already read): the primary metric of every
  series, its agreement with the clean predictions, the chance level, rAUCs and score; once
  with full reasons (the exact record) and once with public templates (sealed results).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

from runner.bundle.labels import Labels
from runner.bundle.load import FoldPaths, PredictInputs
from runner.bundle.spec import BundleSpec
from runner.bundle.tables import load_table, numeric_matrix
from runner.errors import BundleError
from runner.predictions import InvalidPredictions, PredictionSet, assemble
from runner.probe_settings import Kind, ProbePlan, series_name
from runner.probes import TrainingSpread, perturb, rng_for, training_spread
from runner.reasons import public
from runner.results.model import FoldRobustness, ProbeLevelResult
from runner.results.robustness import fold_raucs, score
from runner.session import PROBE, ProbeSeries, SessionOutcome
from runner.task_types import TaskType
from runner.untrusted import capped_line
from runner.verdict import Evidence, decide

CHANCE_DRAWS = 20
"""Shuffles of the clean predictions whose mean metric is the chance level."""


def prepare_probes(
    plan: ProbePlan, fold: FoldPaths, inputs: PredictInputs
) -> tuple[ProbeSeries, ...]:
    """One series per (kind, level); the training spread is read now, the copies later.

    Raises:
        BundleError: when the fold's training features cannot be read.
    """
    table = load_table(fold.train_x)
    values, problems = numeric_matrix(table)
    if problems:
        raise BundleError(str(problems[0]))
    spread = training_spread(table.columns, values, inputs.feature_names)
    return tuple(
        ProbeSeries(
            series_name(kind, level),
            functools.partial(_perturbed, inputs, kind, level, spread, (plan.seed, fold.id)),
        )
        for kind, level in plan.series
    )


def _perturbed(
    inputs: PredictInputs,
    kind: Kind,
    level: float,
    spread: TrainingSpread,
    seed: tuple[int, str],
) -> PredictInputs:
    return perturb(inputs, kind, level, spread, rng_for(seed[0], seed[1], kind))


@dataclass(frozen=True)
class SeriesJudgement:
    """One series after the session: ok with its checked predictions, or how it failed."""

    kind: Kind
    level: float
    status: str
    reason: str = ""
    public_reason: str = ""
    predictions: PredictionSet | None = None

    @property
    def name(self) -> str:
        return series_name(self.kind, self.level)


def judge_probes(
    spec: BundleSpec, plan: ProbePlan, ids: list[str], outcome: SessionOutcome, memory: int
) -> list[SeriesJudgement]:
    """Every planned series: its checked predictions, its failure, or not run."""
    judged = []
    failure = outcome.probe_failure
    for kind, level in plan.series:
        name = series_name(kind, level)
        batches = outcome.probe_batches.get(name)
        if batches is not None:
            try:
                predictions = assemble(spec, ids, batches)
            except InvalidPredictions as exc:
                judged.append(
                    SeriesJudgement(kind, level, "invalid_predictions", str(exc), exc.public)
                )
                continue
            judged.append(SeriesJudgement(kind, level, "ok", predictions=predictions))
        elif failure is not None and failure.series == name:
            verdict = decide(_evidence(outcome, memory))
            judged.append(
                SeriesJudgement(kind, level, verdict.status, verdict.reason, verdict.public_reason)
            )
        else:
            text = public("probe_not_run")
            judged.append(SeriesJudgement(kind, level, "not_run", text, text))
    return judged


def _evidence(outcome: SessionOutcome, memory: int) -> Evidence:
    """What is known of the failed series (its phase's peak memory; the wall time is the
    whole probe phase's, not the series', so it is left out of the reason)."""
    assert outcome.probe_failure is not None
    exit_info = outcome.exit
    usage = outcome.phases.get(PROBE)
    return Evidence(
        fault=outcome.probe_failure.fault,
        exit_code=exit_info.exit_code if exit_info else None,
        oom_killed=exit_info.oom_killed if exit_info else False,
        killed_by_runner=outcome.killed_by_runner,
        memory_limit_bytes=memory,
        peak_memory_bytes=usage.peak_memory_bytes if usage else None,
    )


@dataclass(frozen=True)
class _Truth:
    """The sealed labels in the clean predictions' row order, as the metrics take them
    (aligned once: every series is assembled in that same order)."""

    spec: BundleSpec
    values: np.ndarray

    @classmethod
    def aligned(cls, spec: BundleSpec, truth: Labels, ids: list[str]) -> _Truth:
        position = {sample_id: n for n, sample_id in enumerate(truth.ids)}
        values = truth.values[np.array([position[i] for i in ids], dtype=np.int64)]
        if spec.task_type is TaskType.BINARY:
            values = (values == spec.classes.index(spec.positive_class or "")).astype(np.int8)
        return cls(spec, values)

    def primary(self, hard: np.ndarray, score: np.ndarray | None) -> float | None:
        """The primary metric alone (the same function as the fold's scores)."""
        from runner.scoring.metrics import Target, compute

        target = Target(self.values, hard, score, len(self.spec.outputs))
        name = self.spec.metrics.primary
        return compute([name], target).values[name]


def chance_level(truth: _Truth, clean: PredictionSet, rng: np.random.Generator) -> float | None:
    """The mean primary metric of the clean predictions shuffled across samples: what the
    same outputs earn when they carry no information about which sample is which."""
    values = []
    for _ in range(CHANCE_DRAWS):
        order = rng.permutation(len(clean.ids))
        value = truth.primary(
            clean.hard[order], None if clean.score is None else clean.score[order]
        )
        if value is None:
            return None
        values.append(value)
    return float(np.mean(values))


def agreement(clean: PredictionSet, probed: PredictionSet) -> float:
    """Share of hard predictions (cells, for multilabel) equal to the clean ones."""
    return float(np.mean(clean.hard == probed.hard))


def score_correlation(clean: PredictionSet, probed: PredictionSet) -> float | None:
    """Pearson correlation of the probabilities with the clean ones (None without
    probabilities on either side, or when either side is constant)."""
    if not (clean.proba_sent and probed.proba_sent):
        return None
    if clean.score is None or probed.score is None:
        return None
    a, b = clean.score.ravel(), probed.score.ravel()
    if a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _level(
    series: SeriesJudgement, reason: str, figures: tuple[float | None, ...]
) -> ProbeLevelResult:
    metric, agreed, correlation = figures
    return ProbeLevelResult(
        series=series.name,
        probe=series.kind,
        level=series.level,
        status=series.status,
        reason=reason,
        metric=metric,
        agreement=agreed,
        score_correlation=correlation,
    )


def measure_probes(
    spec: BundleSpec,
    plan: ProbePlan,
    truth: Labels,
    clean: tuple[PredictionSet, float | None],
    judged: list[SeriesJudgement],
    *,
    fold_id: str,
) -> tuple[FoldRobustness, FoldRobustness]:
    """The fold's robustness, exact and public (they differ only in the reasons).
    ``clean`` is the clean predictions and their primary metric."""
    predictions, clean_value = clean
    aligned = _Truth.aligned(spec, truth, predictions.ids)
    rng = np.random.default_rng([plan.seed, zlib.crc32(fold_id.encode()), CHANCE_DRAWS])
    chance = chance_level(aligned, predictions, rng)
    exact, shown = [], []
    for series in judged:
        figures: tuple[float | None, ...] = (None, None, None)
        if series.predictions is not None:
            figures = (
                aligned.primary(series.predictions.hard, series.predictions.score),
                agreement(predictions, series.predictions),
                score_correlation(predictions, series.predictions),
            )
        exact.append(_level(series, capped_line(series.reason), figures))
        shown.append(_level(series, series.public_reason, figures))
    raucs = fold_raucs(spec.metrics.primary, exact, clean_value, chance)
    exact_view, public_view = (
        FoldRobustness(
            seed=plan.seed,
            metric=spec.metrics.primary,
            clean=clean_value,
            chance=chance,
            levels=levels,
            rauc=raucs,
            score=score(raucs),
        )
        for levels in (exact, shown)
    )
    return exact_view, public_view
