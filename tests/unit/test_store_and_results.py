from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from runner.errors import StoreError
from runner.results.aggregate import aggregate
from runner.results.model import FoldResources, FoldResult
from runner.results.store import LocalResultStore, result_key
from runner.schemas import SCHEMA_NAMES, schema_for
from runner.verdict import Status
from tests.helpers import REPO


def _fold(fold_id: str, status: Status, value: float | None) -> FoldResult:
    now = datetime.now(UTC)
    return FoldResult(
        fold_id=fold_id,
        status=status,
        n_test=3,
        metrics={"auroc": value},
        resources=FoldResources(phases={}, wall_seconds=1.0),
        started_at=now,
        finished_at=now,
    )


def test_aggregate_never_averages_failed_or_undefined_folds() -> None:
    folds = [
        _fold("a", Status.OK, 0.8),
        _fold("b", Status.OK, 0.6),
        _fold("c", Status.TIMEOUT, None),
        _fold("d", Status.OK, None),
    ]
    agg = aggregate(folds, "auroc")
    assert agg.mean == pytest.approx(0.7) and agg.sd == pytest.approx(0.1)
    assert agg.failed_folds == ["c"] and agg.undefined_folds == ["d"]
    assert agg.n_scored == 2 and agg.complete is False
    assert aggregate([_fold("a", Status.OK, 0.8)], "auroc").complete is True


def test_result_key_is_deterministic() -> None:
    assert (
        result_key("sha256:" + "a" * 64, "b1", "sha256:" + "c" * 64)
        == "aaaaaaaaaaaa/b1@cccccccccccc"
    )


def test_local_store_writes_atomically(tmp_path: Path) -> None:
    store = LocalResultStore(tmp_path)
    where = store.put_artifact("k/b", "predictions/f1.csv", b"id,label\n")
    assert Path(where).read_bytes() == b"id,label\n"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert store.results() == []


def test_store_errors_are_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot write"):
        LocalResultStore(blocker).put_artifact("k", "a.csv", b"x")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_committed_schemas_match_the_models(name: str) -> None:
    committed = json.loads((REPO / "docs" / "schemas" / f"{name}.schema.json").read_text())
    assert committed == schema_for(name), "run `make schemas` and commit docs/schemas"
    jsonschema.Draft202012Validator.check_schema(committed)
