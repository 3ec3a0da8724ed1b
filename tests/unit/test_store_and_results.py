from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from runner.errors import OldStoreLayout, StoreError
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


def test_result_key_is_deterministic_and_names_the_team() -> None:
    image, bundle_hash = "sha256:" + "a" * 64, "sha256:" + "c" * 64
    key = result_key(image, "b1", bundle_hash, "Team A")
    assert key == result_key(image, "b1", bundle_hash, "Team A")
    assert key.startswith("team-a.") and key.endswith("@aaaaaaaaaaaa/b1@cccccccccccc")
    # The same image under another team (even one with the same slug) is another key.
    assert result_key(image, "b1", bundle_hash, "team-a") != key
    assert result_key(image, "b1", bundle_hash, "org/model") != result_key(
        image, "b1", bundle_hash, "org-model"
    )
    assert "/" not in result_key(image, "b1", bundle_hash, "../../etc").split("/")[0][:-13]


def _legacy_store(tmp_path: Path) -> Path:
    """A store as Airlock 0.1 wrote it: <image id>/<bundle>@<hash>/, the team in provenance."""
    from tests.unit.test_leaderboard_ranking import result

    root = tmp_path / "results"
    for team, bundle in (("team-a", "b1"), ("team-b", "b2")):
        old = root / "aaaaaaaaaaaa" / f"{bundle}@cccccccccccc"
        old.mkdir(parents=True)
        made = result(team, "a", bundle, [0.7, 0.7])
        (old / "result.json").write_text(made.model_dump_json(by_alias=True))
        (old / "folds").mkdir()
    (root / "aaaaaaaaaaaa" / "b3@dddddddddddd" / "folds").mkdir(parents=True)  # interrupted
    return root


def test_a_store_in_the_old_layout_is_refused_then_migrated(tmp_path: Path) -> None:
    from runner.results.store import migrate

    root = _legacy_store(tmp_path)
    store = LocalResultStore(root)
    with pytest.raises(OldStoreLayout, match="airlock results migrate --results"):
        store.results()
    moved, left = migrate(store)
    assert len(moved) == 2 and left == ["aaaaaaaaaaaa/b3@dddddddddddd"]
    with pytest.raises(OldStoreLayout, match="layout of Airlock 0.1"):
        store.results()  # the interrupted run is still in the old layout
    import shutil

    shutil.rmtree(root / "aaaaaaaaaaaa")
    teams = sorted(r.provenance.team for r in store.results())
    assert teams == ["team-a", "team-b"]


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
