"""`airlock reproduce`'s pure parts: comparing scores and prediction files fold by fold,
the spread of repeated runs, and finding a result (refusals in one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner import reproduce
from runner.errors import UsageError
from runner.verdict import Status
from tests.helpers import run_airlock
from tests.unit.test_leaderboard_ranking import result

CSV = b"id,label,proba_a,proba_b\ns1,a,0.75,0.25\ns2,b,0.1,0.9\n"


def test_scores_match_exactly_within_tolerance_or_not() -> None:
    assert reproduce.compare_values(0.5, 0.5, 0.0) == "identical"
    assert reproduce.compare_values(None, None, 0.0) == "identical"
    assert reproduce.compare_values(0.5, 0.5 + 1e-12, 1e-9) == "within tolerance"
    assert reproduce.compare_values(0.5, 0.5 + 1e-12, 0.0) == "different"
    assert reproduce.compare_values(0.5, None, 1.0) == "different"


def test_prediction_files_byte_by_byte_then_cell_by_cell() -> None:
    assert reproduce.compare_predictions(CSV, CSV, 0.0) == ("identical", 0.0)
    nudged = CSV.replace(b"0.75", b"0.7500001")
    verdict, largest = reproduce.compare_predictions(CSV, nudged, 1e-6)
    assert verdict == "within tolerance" and largest == pytest.approx(1e-7)
    assert reproduce.compare_predictions(CSV, nudged, 0.0)[0] == "different"
    assert reproduce.compare_predictions(CSV, CSV.replace(b"s1,a", b"s1,b"), 1.0)[0] == "different"
    assert reproduce.compare_predictions(CSV, CSV.replace(b"s2,", b"s9,"), 1.0)[0] == "different"
    assert reproduce.compare_predictions(CSV, None, 1.0) == ("different", None)
    assert reproduce.compare_predictions(None, None, 0.0) == ("identical", None)


def _fold(values: list[float | None], status: Status = Status.OK) -> reproduce.FoldResult:
    return result("t", "a", "b", values, status=status).folds[0]


def test_a_fold_is_as_bad_as_its_worst_part() -> None:
    fold = _fold([0.8])
    same = reproduce.compare_fold(fold, fold, (CSV, CSV), 0.0, ("auroc",))
    assert same.verdict == "identical" and same.scores == {"auroc": (0.8, 0.8, "identical")}
    close = fold.model_copy(update={"metrics": {"auroc": 0.8 + 1e-10}})
    assert reproduce.compare_fold(fold, close, (CSV, CSV), 1e-9).verdict == "within tolerance"
    moved = reproduce.compare_fold(fold, fold, (CSV, CSV.replace(b"0.9", b"0.8")), 0.0)
    assert (moved.predictions, moved.verdict) == ("different", "different")
    failed = _fold([None], status=Status.TIMEOUT)
    gone = reproduce.compare_fold(fold, failed, (CSV, None), 1.0)
    assert gone.status == ("ok", "timeout") and gone.verdict == "different"


def test_spread_over_runs_says_whether_a_submission_is_deterministic() -> None:
    original = result("t", "a", "b", [0.8, 0.6])
    steady = [result("t", "a", "b", [0.8, 0.6]) for _ in range(3)]
    assert all(s.deterministic and s.sd == 0 for s in reproduce.spread(original, steady))
    shaky = [result("t", "a", "b", [0.8, v]) for v in (0.5, 0.6, 0.7)]
    first, second = reproduce.spread(original, shaky)
    assert first.deterministic
    assert (second.low, second.high, second.deterministic) == (0.5, 0.7, False)
    assert second.sd == pytest.approx((2 / 3 * 0.01) ** 0.5)


def test_locate_reads_a_file_or_its_directory_and_refuses_in_one_line(tmp_path: Path) -> None:
    item = result("t", "a", "b", [0.8])
    folder = tmp_path / "key"
    (folder / "predictions").mkdir(parents=True)
    (folder / "result.json").write_text(item.model_dump_json(by_alias=True))
    (folder / "predictions" / "f0.csv").write_bytes(CSV)
    for target in (folder, folder / "result.json"):
        found = reproduce.locate(str(target))
        assert found.result == item
        assert found.read("predictions/f0.csv") == CSV
        assert found.read("../key/result.json") is None  # never outside the result's folder
    with pytest.raises(UsageError, match="no result at"):
        reproduce.locate(str(tmp_path / "nothing.json"))
    (tmp_path / "bad.json").write_text(json.dumps({"schema": "x"}))
    with pytest.raises(UsageError, match="not an Airlock result"):
        reproduce.locate(str(tmp_path / "bad.json"))
    with pytest.raises(UsageError, match="give the store and the result's key"):
        reproduce.locate("s3://bucket")
    done = run_airlock("reproduce", str(tmp_path / "nothing.json"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("airlock: error: no result at ")


def test_a_rerun_under_other_settings_is_named() -> None:
    original = result("t", "a", "b", [0.8])
    assert reproduce.settings_changed(original, original) == []
    limits = original.provenance.limits.model_copy(update={"cpus": 0.5})
    other = original.model_copy(
        update={"provenance": original.provenance.model_copy(update={"limits": limits})}
    )
    assert reproduce.settings_changed(original, other) == ["cpus 1.0 -> 0.5"]
