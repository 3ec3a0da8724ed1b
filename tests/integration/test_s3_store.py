"""Results in S3-compatible object storage, against a real S3 server on loopback (moto's
standalone server, started here; no in-process patching)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.results.s3 import S3ResultStore
from runner.results.store import LocalResultStore, PublishingStore, publish
from tests.helpers import REPO, SAMPLES, bundle_variant
from tests.integration.conftest import ARTIFACTS
from tests.services import s3_server as s3_server_running

BUCKET = "airlock-results"


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    pytest.importorskip("moto")
    with s3_server_running(BUCKET) as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        yield {"process": server.process, "client": server.client(), "env": server.env}


def test_upload_list_overwrite(s3_server: dict[str, Any], tmp_path: Path) -> None:
    local = tmp_path / "local"
    from tests.unit.test_leaderboard_ranking import result

    store = S3ResultStore(f"s3://{BUCKET}/team-a")
    first = result("t", "a", "task1", [0.6, 0.7])
    assert store.get_artifact("k1/b", "folds/f0.json") is None
    store.put_artifact("k1/b", "predictions/f0.csv", b"id,label\n")
    assert store.results() == []  # artifacts alone are not a result
    store.put_result("k1/b", first)
    assert [r.provenance.run_id for r in store.results()] == ["run-a"]
    second = first.model_copy(update={"primary_metric": "auroc", "metrics": ["auroc"]})
    store.put_result("k1/b", second)  # same key: overwritten, not duplicated
    assert len(store.results()) == 1
    listing = s3_server["client"].list_objects_v2(Bucket=BUCKET, Prefix="team-a/")["Contents"]
    assert sorted(o["Key"] for o in listing) == [
        "team-a/k1/b/predictions/f0.csv",
        "team-a/k1/b/result.json",
    ]
    LocalResultStore(local).put_result("k2/c", result("t", "b", "task2", [0.5, 0.5]))
    assert publish(LocalResultStore(local), store) == 1
    assert len(store.results()) == 2


def test_a_prefix_in_the_old_layout_is_refused_with_the_way_out(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """Airlock 0.1 keyed results by image id alone; an S3 prefix holding them is refused
    like a local directory (listing only its top level: one request however big it is)."""
    from runner.errors import OldStoreLayout
    from tests.unit.test_leaderboard_ranking import result

    old = result("team-a", "a", "b1", [0.7, 0.7]).model_dump_json(by_alias=True).encode()
    client = s3_server["client"]
    client.put_object(Bucket=BUCKET, Key="old/aaaaaaaaaaaa/b1@cccccccccccc/result.json", Body=old)
    client.put_object(Bucket=BUCKET, Key="new/team-a.0f90a0@aaaaaaaaaaaa/b1@cc/result.json",
                      Body=old)  # fmt: skip
    store = S3ResultStore(f"s3://{BUCKET}/old")
    with pytest.raises(OldStoreLayout) as refused:
        store.check_layout()
    assert str(refused.value) == (
        f"s3://{BUCKET}/old holds 1 result(s) in the layout of Airlock 0.1 (keyed by image "
        "only, e.g. aaaaaaaaaaaa/), which mixes up teams that ran the same image; copy them to "
        "a directory DIR, run airlock results migrate --results DIR, then airlock publish DIR "
        "--to a new prefix"
    )
    with pytest.raises(OldStoreLayout):
        store.results()
    S3ResultStore(f"s3://{BUCKET}/new").check_layout()
    assert len(S3ResultStore(f"s3://{BUCKET}/new").results()) == 1


def test_fold_records_and_results_of_two_submissions_are_listed_apart(
    s3_server: dict[str, Any], tmp_path: Path
) -> None:
    """Fold records are ``<key>/folds/<fold>.json`` and results ``<key>/result.json``, under
    this store's prefix only; `airlock status` counts the records and lists the
    infra_error ones, the same on S3 as in a directory."""
    from runner.resume import FoldRecord
    from tests.services import KEY_A, KEY_B, MISSING_LABELS, store_two_submissions
    from tests.unit.test_leaderboard_ranking import result

    done = result("team-a", "a", "task1", [0.7, 0.7])
    store = S3ResultStore(f"s3://{BUCKET}/competition")
    store_two_submissions(store, done)
    store_two_submissions(S3ResultStore(f"s3://{BUCKET}/competition-old"), done)  # a neighbour
    records = [FoldRecord.model_validate_json(raw) for raw in store.fold_records()]
    assert sorted((r.result.fold_id, str(r.result.status)) for r in records) == [
        ("f0", "ok"),
        ("f0", "ok"),
        ("f1", "ok"),
        ("result", "infra_error"),
    ]
    assert sorted(key for key, _ in store.fold_record_items()) == [KEY_A, KEY_A, KEY_B, KEY_B]
    assert store.result_keys() == [f"competition/{KEY_A}/result.json"]
    assert [r.provenance.team for r in store.results()] == ["team-a"]
    from runner.distributed.status import FailedFold, store_status

    expected = [FailedFold(KEY_B, "result", MISSING_LABELS, "run1")]
    on_s3 = store_status(store)
    assert on_s3.statuses == {"ok": 3, "infra_error": 1}
    assert on_s3.infra_errors == expected
    assert on_s3.unreadable == []
    local = LocalResultStore(tmp_path / "local")
    store_two_submissions(local, done)
    in_directory = store_status(local)
    assert (in_directory.statuses, in_directory.infra_errors) == (on_s3.statuses, expected)
    assert len(local.results()) == len(store.results()) == 1


@pytest.mark.docker
def test_run_to_s3_then_leaderboard(
    s3_server: dict[str, Any], tmp_path: Path, docker_client: Any, browser: Any
) -> None:
    env = {**os.environ, **s3_server["env"]}
    uri = f"s3://{BUCKET}/competition"
    for image in ("airlock/sample-logreg", "airlock/sample-random"):
        done = subprocess.run(
            [sys.executable, "-m", "runner", "run", "--image", image, "-b", str(SAMPLES / "synth-loco-3class"),
             "-b", str(SAMPLES / "synth-lomo-highdim"), "--results", uri, "--local-copy", str(tmp_path / "local"), "--jobs", "2"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"result: {uri}/" in done.stdout
    out = tmp_path / "board"
    board = subprocess.run(
        [sys.executable, "-m", "runner", "leaderboard", "--results", uri, "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert board.returncode == 0, board.stderr
    assert {p.name for p in out.iterdir()} == {
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard.html",
    }
    table = (out / "leaderboard.md").read_text()
    assert table.index("airlock/sample-logreg") < table.index("airlock/sample-random")
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto((out / "leaderboard.html").as_uri())
    teams = page.locator("table.board tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    assert teams == ["airlock/sample-logreg", "airlock/sample-random"]
    assert page.locator("svg.chart rect.bar").count() == 4
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-s3.png"), full_page=True)


@pytest.mark.docker
def test_server_stopped_mid_publication(
    s3_server: dict[str, Any], tmp_path: Path, docker_client: Any
) -> None:
    """The server stops answering after the first fold is published: the run keeps
    everything locally, fails as infra (exit 3), no partial result is visible; once the
    server is back, `airlock publish` completes it."""
    env = {**os.environ, **s3_server["env"]}
    uri = f"s3://{BUCKET}/fault"
    local = tmp_path / "local"
    bundle = bundle_variant("synth-loco-3class", tmp_path)
    client, server = s3_server["client"], s3_server["process"]
    run = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "--image", "airlock/sample-logreg", "-b", str(bundle),
         "--results", uri, "--local-copy", str(local), "--jobs", "1"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        keys = [
            o["Key"]
            for o in client.list_objects_v2(Bucket=BUCKET, Prefix="fault/").get("Contents", [])
        ]
        if any(k.endswith(".json") and "/folds/" in k for k in keys):
            break
        time.sleep(0.05)
    server.send_signal(signal.SIGSTOP)  # the server stops mid-publication
    stdout, stderr = run.communicate(timeout=300)
    server.send_signal(signal.SIGCONT)  # ... and comes back
    assert run.returncode == 3, stdout + stderr
    assert "publishing to s3://airlock-results/fault failed" in stderr
    assert f"airlock publish {local} --to {uri}" in stderr
    (error,) = [line for line in stderr.splitlines() if line.startswith("airlock: error:")]
    assert "publishing to s3://airlock-results/fault failed" in error  # the whole story, one line
    assert S3ResultStore(uri).results() == []  # nothing partial looks complete
    (local_result,) = local.glob("*/*/result.json")
    assert json.loads(local_result.read_text())["aggregate"]["complete"] is True
    again = subprocess.run(
        [sys.executable, "-m", "runner", "publish", str(local), "--to", uri],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    (published,) = S3ResultStore(uri).results()
    assert published.aggregate.complete is True


def test_publishing_store_keeps_the_local_copy(tmp_path: Path) -> None:
    from runner.errors import StoreError

    class Broken(LocalResultStore):
        def put_artifact(self, key: str, name: str, data: bytes) -> str:
            raise StoreError("s3://x/y: ServiceUnavailable")

    store = PublishingStore(LocalResultStore(tmp_path / "local"), Broken(tmp_path / "remote"))
    store.put_artifact("k/b", "folds/f.json", b"{}")
    assert (tmp_path / "local" / "k" / "b" / "folds" / "f.json").read_bytes() == b"{}"
    with pytest.raises(StoreError, match="every result is kept in"):
        store.finish()


def test_doctor_checks_a_real_s3_store(s3_server: dict[str, Any]) -> None:
    from runner.doctor import check_store

    found = check_store(f"s3://{BUCKET}/runs")
    assert found.state == "ok", found
    assert "is reachable and listable" in found.detail
    missing = check_store("s3://no-such-bucket/runs")
    assert missing.state == "fail"
    assert missing.detail.startswith("s3://no-such-bucket/")
    assert "bucket exists" in missing.fix
    s3_server["process"].send_signal(signal.SIGSTOP)  # the server hangs: a timeout, not a hang
    try:
        stalled = check_store(f"s3://{BUCKET}/runs")
    finally:
        s3_server["process"].send_signal(signal.SIGCONT)
    assert stalled.state == "fail", stalled
