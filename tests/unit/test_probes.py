"""Robustness probes, the pure parts: settings, perturbations, formulas, aggregation,
sealing, and the protocol messages (docs/robustness.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from runner.bundle.load import PredictInputs, load_bundle, load_test_inputs, read_spec
from runner.bundle.spec import BundleSpec
from runner.probe_settings import (
    DEFAULT_LEVELS,
    ProbeLevels,
    ProbeRequest,
    parse_option,
    resolve,
    series_name,
)
from runner.probes import (
    TrainingSpread,
    by_name,
    permute_columns,
    perturb,
    rng_for,
    rounded,
    training_spread,
)
from runner.protocol.messages import Predict, encode_predict
from runner.reasons import matches_a_template, public
from runner.results.model import (
    FoldResources,
    FoldResult,
    FoldRobustness,
    ProbeLevelResult,
)
from runner.results.robustness import bundle_robustness, fold_raucs, normalised, rauc, score
from runner.sealing import SEALED_PHASES, seal_fold
from runner.session import predict_messages
from runner.verdict import Status
from tests.helpers import SAMPLES

# --- settings -------------------------------------------------------------------------------


def test_the_option_names_kinds_and_optional_levels() -> None:
    assert parse_option("dropout,noise") == ProbeRequest(("dropout", "noise"))
    asked = parse_option("noise=2:0.5:1,permutation")
    assert asked.kinds == ("noise", "permutation")
    assert asked.levels == (("noise", (0.5, 1.0, 2.0)),)
    assert parse_option("all").kinds == ("dropout", "noise", "shift", "permutation")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dropout,blur", "unknown probe 'blur'"),
        ("dropout=0", "dropout: level 0 must be above 0 and at most 1"),
        ("dropout=1.5", "at most 1"),
        ("noise=x", "levels must be numbers"),
        ("noise=1:1", "a level is given twice"),
        ("permutation=0.5", "must be exactly 1"),
        ("shift=" + ":".join(str(v / 10) for v in range(1, 11)), "give 1 to 8 levels"),
    ],
)
def test_a_bad_option_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_option(text)


def test_levels_come_from_the_command_line_then_the_bundle_then_the_defaults() -> None:
    bundle = ProbeLevels(seed=7, noise=[1.0, 0.5])
    plan = resolve(parse_option("dropout,noise,shift=0.2"), bundle)
    assert plan is not None
    assert plan.seed == 7
    assert plan.levels("dropout") == list(DEFAULT_LEVELS["dropout"])
    assert plan.levels("noise") == [0.5, 1.0]
    assert plan.levels("shift") == [0.2]
    assert [series_name(k, v) for k, v in plan.series][-1] == "shift@0.2"
    assert resolve(None, bundle) is None  # off unless asked
    assert resolve(ProbeRequest(("noise",), seed=3), bundle).seed == 3  # type: ignore[union-attr]


def test_bundle_yaml_takes_probe_levels_and_refuses_bad_ones() -> None:
    raw = yaml.safe_load((SAMPLES / "synth-loco-3class" / "bundle.yaml").read_text())
    spec = BundleSpec.model_validate({**raw, "probes": {"noise": [0.1, 0.2], "seed": 4}})
    assert spec.probes is not None and spec.probes.levels("noise") == (0.1, 0.2)
    assert spec.model_dump(mode="json")["probes"]["seed"] == 4
    with pytest.raises(ValidationError, match="dropout: level 2 must be"):
        BundleSpec.model_validate({**raw, "probes": {"dropout": [2]}})
    with pytest.raises(ValidationError):
        BundleSpec.model_validate({**raw, "probes": {"blur": [1]}})
    # A bundle without probes is written without the field, as before.
    assert "probes" not in BundleSpec.model_validate(raw).model_dump(mode="json")


# --- perturbations ---------------------------------------------------------------------------


def _inputs(n: int = 40, features: int = 30, seed: int = 1) -> PredictInputs:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(5.0, 2.0, (n, features)), 3)
    x[0, 0] = np.nan
    return PredictInputs(
        ids=[f"s{i:03d}" for i in range(n)],
        feature_names=[f"g{j}" for j in range(features)],
        X=x,
        meta_columns=["m"],
        meta=[[f"m{i % 3}"] for i in range(n)],
        n_train=10,
    )


def _spread(inputs: PredictInputs) -> TrainingSpread:
    sd = np.full(len(inputs.feature_names), 2.0)
    sd[-1] = 0.0  # a constant feature
    return TrainingSpread(mean=np.full(len(sd), 5.0), sd=sd)


def _probe(inputs: PredictInputs, kind: str, level: float) -> PredictInputs:
    return perturb(inputs, kind, level, _spread(inputs), rng_for(0, "fold-a", kind))  # type: ignore[arg-type]


def test_training_spread_is_aligned_by_name_and_ignores_missing_values() -> None:
    train = np.array([[1.0, 10.0, np.nan], [3.0, 10.0, np.nan], [np.nan, 10.0, np.nan]])
    spread = training_spread(["a", "b", "c"], train, ["b", "a", "c"])
    assert spread.mean.tolist() == [10.0, 2.0, 0.0]
    assert spread.sd.tolist() == [0.0, 1.0, 0.0]


def test_perturbations_are_pure_and_seeded() -> None:
    inputs = _inputs()
    for kind in ("dropout", "noise", "shift", "permutation"):
        first, second = _probe(inputs, kind, 0.5 if kind != "permutation" else 1), None
        second = _probe(inputs, kind, 0.5 if kind != "permutation" else 1)
        assert np.array_equal(first.X, second.X, equal_nan=True)
        assert first.ids == second.ids
    other = perturb(inputs, "noise", 0.5, _spread(inputs), rng_for(1, "fold-a", "noise"))
    assert not np.array_equal(other.X, _probe(inputs, "noise", 0.5).X, equal_nan=True)
    assert inputs.X[0, 0] != inputs.X[0, 0]  # the input itself is untouched (still NaN)
    assert not np.isnan(inputs.X[1:]).any()


def test_dropout_removes_the_share_per_sample_nested_across_levels() -> None:
    inputs = _inputs()
    previous = None
    for level in (0.1, 0.25, 0.5, 1.0):
        lost = np.isnan(_probe(inputs, "dropout", level).X)
        lost[0, 0] = False  # missing already
        per_row = lost.sum(axis=1)
        assert set(per_row[1:]) == {round(level * 30)}
        if previous is not None:
            assert (lost | previous == lost).all()  # what 0.1 drops, 0.25 drops too
        previous = lost
    kept = ~np.isnan(_probe(inputs, "dropout", 0.5).X)
    assert np.array_equal(_probe(inputs, "dropout", 0.5).X[kept], inputs.X[kept])


def test_noise_scales_with_each_feature_s_training_sd() -> None:
    inputs = _inputs(n=400)
    one, two = _probe(inputs, "noise", 1.0), _probe(inputs, "noise", 2.0)
    delta_one, delta_two = one.X - inputs.X, two.X - inputs.X
    assert np.nanstd(delta_one[:, :-1]) == pytest.approx(2.0, rel=0.05)  # sd 2, level 1
    assert np.allclose(delta_two[1:], 2 * delta_one[1:], atol=0.01)  # the same draws, doubled
    assert np.array_equal(one.X[:, -1], inputs.X[:, -1])  # constant feature: no noise
    # Rounded to 1/1000 of the training sd (here 0.001): short numbers on the wire.
    assert np.array_equal(one.X[1:, :-1], np.round(one.X[1:, :-1], 3))


def test_shift_is_one_gain_and_one_offset_per_sample() -> None:
    inputs = _inputs()
    spread = _spread(inputs)
    shifted = _probe(inputs, "shift", 0.5)
    rows = shifted.X[1:, :-1]
    centred = inputs.X[1:, :-1] - 5.0
    # x' - mean = gain * (x - mean) + offset * sd: a line per sample through its features.
    for row, source in zip(rows - 5.0, centred, strict=True):
        gain, offset = np.polyfit(source, row, 1)
        assert gain > 0
        assert np.allclose(gain * source + offset, row, atol=0.002)
    assert spread.sd[-1] == 0


def test_the_permutation_probe_presents_the_clean_table_in_another_row_order() -> None:
    inputs = _inputs()
    rng = np.random.default_rng(3)
    names, permuted = permute_columns(inputs.feature_names, inputs.X, rng)
    assert names != inputs.feature_names
    assert np.array_equal(by_name(names, permuted, inputs.feature_names), inputs.X, equal_nan=True)
    probed = _probe(inputs, "permutation", 1.0)
    assert probed.ids != inputs.ids and sorted(probed.ids) == inputs.ids
    row = {sample_id: n for n, sample_id in enumerate(inputs.ids)}
    for n, sample_id in enumerate(probed.ids):
        assert np.array_equal(probed.X[n], inputs.X[row[sample_id]], equal_nan=True)
        assert probed.meta[n] == inputs.meta[row[sample_id]]


def test_rounding_keeps_constant_columns_and_rounds_coarse_ones_to_tens() -> None:
    x = np.array([[1234.5678, 0.123456789, 7.0]])
    spread = TrainingSpread(mean=np.zeros(3), sd=np.array([20_000.0, 0.05, 0.0]))
    assert rounded(x, spread).tolist() == [[1230.0, 0.12346, 7.0]]


# --- protocol --------------------------------------------------------------------------------


def test_probe_messages_carry_their_series_and_go_on_numbering() -> None:
    inputs = _inputs()
    clean = list(predict_messages(inputs, batch_bytes=2_000))
    assert len(clean) > 1
    probed = list(predict_messages(inputs, 2_000, 1, len(clean), "noise@0.5"))
    first = json.loads(probed[0][0])
    assert first["batch"] == len(clean) and first["probe"] == "noise@0.5"
    Predict.model_validate(first)  # the protocol's own model accepts it
    assert "probe" not in json.loads(clean[0][0])  # clean batches are as they always were
    message = encode_predict(0, inputs.ids[:2], inputs.X[:2], inputs.meta[:2])
    assert json.loads(message)["X"][0][0] is None  # NaN -> null


# --- formulas --------------------------------------------------------------------------------


def test_rauc_is_the_normalised_area_over_the_strength_range() -> None:
    # clean 0.9, chance 0.5: kept 1 -> 0.5 -> 0 at strengths 0, 1, 2.
    assert rauc("auroc", [1.0, 2.0], [0.7, 0.5], 0.9, 0.5) == pytest.approx(0.5)
    assert rauc("auroc", [1.0], [0.9], 0.9, 0.5) == 1.0
    assert rauc("auroc", [1.0], [0.95], 0.9, 0.5) == 1.0  # above clean counts as 1
    # Below chance counts as 0; the first interval's trapezoid from the clean point stays.
    assert rauc("auroc", [1.0], [0.3], 0.9, 0.5) == 0.5
    assert rauc("auroc", [0.5, 2.0], [0.3, 0.2], 0.9, 0.5) == pytest.approx(0.125)
    assert rauc("auroc", [1.0, 2.0], [0.7, None], 0.9, 0.5) is None  # a level failed
    assert rauc("auroc", [1.0], [0.7], 0.5, 0.5) is None  # no skill on clean inputs
    # A loss (lower is better): clean 0.1, chance 0.3, 0.2 keeps half.
    assert rauc("hamming_loss", [1.0], [0.2], 0.1, 0.3) == pytest.approx(0.75)
    assert normalised(0.2, 0.1, 0.3) == pytest.approx(0.5)


def _level(kind: str, level: float, metric: float | None, status: str = "ok") -> ProbeLevelResult:
    return ProbeLevelResult(
        series=series_name(kind, level), probe=kind, level=level, status=status,
        metric=metric, agreement=1.0 if metric is not None else None,
    )  # fmt: skip


def _fold(
    fold_id: str, levels: list[ProbeLevelResult], clean: float = 0.9, chance: float = 0.5
) -> FoldResult:
    raucs = fold_raucs("auroc", levels, clean, chance)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    return FoldResult(
        fold_id=fold_id, status=Status.OK, n_test=10, metrics={"auroc": clean},
        resources=FoldResources(phases={}, wall_seconds=1.0), started_at=now, finished_at=now,
        robustness=FoldRobustness(
            seed=0, metric="auroc", clean=clean, chance=chance, levels=levels, rauc=raucs,
            score=score(raucs),
        ),
    )  # fmt: skip


def test_the_bundle_curve_is_the_mean_over_folds_with_every_level_scored() -> None:
    folds = [
        _fold("a", [_level("noise", 1.0, 0.8), _level("noise", 2.0, 0.6),
                    _level("permutation", 1.0, 0.9)]),
        _fold("b", [_level("noise", 1.0, 0.6), _level("noise", 2.0, 0.4),
                    _level("permutation", 1.0, 0.9)], clean=0.7),
        _fold("c", [_level("noise", 1.0, 0.7), _level("noise", 2.0, None, "timeout"),
                    _level("permutation", 1.0, 0.9)]),
    ]  # fmt: skip
    assert folds[2].robustness is not None and folds[2].robustness.score is None
    summary = bundle_robustness(folds)
    assert summary is not None
    noise, permutation = summary.curves
    assert noise.n_folds == 2 and noise.failed_folds == ["c"]
    assert [p.metric for p in noise.points] == pytest.approx([0.7, 0.5])
    assert noise.clean == pytest.approx(0.8)
    # kept: (0.7 - 0.5) / 0.3 = 2/3, then 0: area (1 + 2/3) / 2 + (2/3) / 2 over 2.
    assert noise.rauc == pytest.approx(((1 + 2 / 3) / 2 + (2 / 3) / 2) / 2)
    assert permutation.rauc is None and permutation.points[0].agreement == 1.0
    assert summary.score == noise.rauc  # permutation is not scored
    assert bundle_robustness([f.model_copy(update={"robustness": None}) for f in folds]) is None


# --- sealing ---------------------------------------------------------------------------------


def test_a_sealed_fold_shows_the_probe_scores_with_template_reasons_only() -> None:
    secret = _level("noise", 1.0, None, "crashed").model_copy(
        update={"reason": "the submission reported an error during probe: SECRET[abc]"}
    )
    exact = _fold("a", [_level("noise", 0.5, 0.8), secret])
    assert exact.robustness is not None
    shown = exact.robustness.model_copy(
        update={
            "levels": [
                exact.robustness.levels[0],
                secret.model_copy(update={"reason": public("reported_error", phase="probe")}),
            ]
        }
    )
    sealed = seal_fold(exact, "", shown)
    assert "SECRET" not in sealed.model_dump_json()
    assert sealed.robustness is not None and sealed.robustness.levels[0].metric == 0.8
    assert all(not lv.reason or matches_a_template(lv.reason) for lv in sealed.robustness.levels)
    assert seal_fold(exact, "").robustness is None  # nothing shown unless given
    assert "probe" in SEALED_PHASES
    assert matches_a_template(public("probe_not_run"))
    assert matches_a_template(public("timeout", phase="probe", limit="8"))


def test_the_sample_bundles_carry_no_probe_levels(tmp_path: Path) -> None:
    for bundle in sorted(SAMPLES.iterdir()):
        spec, problems = read_spec(bundle)
        assert spec is not None and spec.probes is None, problems
    inputs = load_test_inputs(load_bundle(SAMPLES / "synth-loco-3class").folds[0])
    assert inputs.X.shape[0] > 0
