"""The read commands for scripts: `--json` prints exactly the shape its help documents (and
nothing else on stdout), with the real data; `-q` leaves out notes and progress, never
errors; `airlock results table` has one column per submission (team and image)."""

from __future__ import annotations

import json
import re
import types
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from typer.testing import CliRunner, Result

from runner.bundle import manifest
from runner.bundle.problems import display_path
from runner.bundle.validate import validate_bundle
from runner.cli import (
    app,
    shapes,  # the JSON shapes, looked up when a test runs
)
from runner.results.aggregate import aggregate
from runner.results.model import (
    AppliedLimits,
    FoldResources,
    FoldResult,
    PhaseUsage,
    Provenance,
    SubmissionResult,
)
from runner.results.store import LocalResultStore
from runner.verdict import Status
from tests.helpers import SAMPLES, copy_bundle

LOCO = "synth-loco-3class"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
LIMITS = AppliedLimits(
    handshake_seconds=30, fit_seconds=60, predict_seconds=60, memory_bytes=2**30, cpus=1, gpus=0,
    pids_limit=256, tmpfs_bytes=2**28, user="10001:10001", max_message_bytes=2**24,
)  # fmt: skip


def airlock(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def conforms(value: Any, kind: Any) -> bool:
    """Whether ``value`` (parsed JSON) has exactly the shape ``kind`` (a TypedDict...)."""
    if typing.is_typeddict(kind):
        fields = typing.get_type_hints(kind)
        return (
            isinstance(value, dict)
            and set(value) == set(fields)
            and all(conforms(value[name], sub) for name, sub in fields.items())
        )
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return isinstance(value, list) and all(conforms(item, args[0]) for item in value)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is type(None):
        return value is None
    return type(value) is kind


def json_of(result: Result, kind: Any) -> Any:
    """stdout holds the JSON and nothing else, in the shape the --json help shows."""
    document = json.loads(result.stdout)
    assert conforms(document, kind), (shapes.shape_of(kind), document)
    return document


def test_the_help_documents_the_printed_shape() -> None:
    for words, kind in (
        (["results", "table"], shapes.ResultsTableJSON),
        (["leaderboard"], shapes.LeaderboardJSON),
        (["bundle", "list"], shapes.BundleListJSON),
        (["bundle", "validate"], shapes.ValidateJSON),
    ):
        shown = " ".join(airlock(*words, "--help").stdout.replace("│", " ").split())
        assert " ".join(shapes.shape_of(kind).split()) in shown, words
        assert "-q" in shown and "--quiet" in shown


# --- stores built from result models ------------------------------------------------------


def submission_result(
    team: str,
    image_ref: str,
    bundle: str,
    values: list[float | None],
    *,
    image: str = "a",
    status: Status = Status.OK,
    minutes: int = 0,
    bundle_hash: str = "b",
    isolation: Literal["container", "none"] = "container",
) -> SubmissionResult:
    """A result as `airlock run` stores it: fold 0 has ``status``, the others are ok."""
    folds = [
        FoldResult(
            fold_id=f"f{n}", status=status if n == 0 else Status.OK,
            reason="" if status is Status.OK or n else "fit phase exceeded its 60 s limit",
            n_test=10, metrics={} if status is not Status.OK and n == 0 else {"auroc": v},
            resources=FoldResources(phases={"fit": PhaseUsage(wall_seconds=1.0)}, wall_seconds=2.0),
            started_at=T0, finished_at=T0,
        )
        for n, v in enumerate(values)
    ]  # fmt: skip
    when = T0 + timedelta(minutes=minutes)
    return SubmissionResult(
        provenance=Provenance(
            runner_version="0.1.0", protocol_version=1, run_id=f"run-{team}-{minutes}",
            image_ref=image_ref, image_id="sha256:" + image * 64, bundle_id=bundle,
            bundle_title=bundle, bundle_hash="sha256:" + bundle_hash * 64, bundle_path="/b",
            synthetic_data=True, host="h", engine="docker 26", python="3.11", started_at=when,
            finished_at=when, limits=LIMITS, team=team, isolation=isolation,
        ),
        task_type="binary", primary_metric="auroc", metrics=["auroc"], folds=folds,
        aggregate=aggregate(folds, "auroc"),
    )  # fmt: skip


def store(root: Path, *results: SubmissionResult) -> Path:
    """A local result store holding ``results``, each under its own submission's key."""
    local = LocalResultStore(root)
    for result in results:
        p = result.provenance
        team = re.sub(r"[^a-z0-9._-]+", "-", p.team)
        key = f"{team}@{p.image_id[7:19]}/{p.bundle_id}@{p.bundle_hash[7:19]}"
        local.put_result(key, result)
    return root


# --- results table ------------------------------------------------------------------------


def test_two_teams_with_the_same_image_are_two_columns(tmp_path: Path) -> None:
    shared = "registry.example/shared-model:1"
    root = store(
        tmp_path / "results",
        submission_result("team-a", shared, "task1", [0.9, 0.7], minutes=1),
        submission_result("team-b", shared, "task1", [0.6, 0.6], minutes=2),
        submission_result("team-b", shared, "task2", [0.4, 0.5], minutes=3),
    )
    table = airlock("results", "table", "--results", root)
    assert table.exit_code == 0, table.output
    header = table.stdout.split("task1")[0]
    assert "team-a" in header and "team-b" in header
    assert "0.800 ± 0.100" in table.stdout  # team-a's, not hidden by team-b's later run
    assert "0.600 ± 0.000" in table.stdout
    document = json_of(
        airlock("results", "table", "--results", root, "--json"), shapes.ResultsTableJSON
    )
    assert document["store"] == str(root)
    assert document["columns"] == [
        {"team": "team-a", "image": shared},
        {"team": "team-b", "image": shared},
    ]
    rows = {row["bundle"]: row for row in document["rows"]}
    assert sorted(rows) == ["task1", "task2"]
    a_task1, b_task1 = rows["task1"]["cells"]
    assert a_task1 is not None and b_task1 is not None
    assert (a_task1["mean"], a_task1["sd"]) == pytest.approx((0.8, 0.1))
    assert (b_task1["mean"], b_task1["sd"], b_task1["n_scored"]) == (0.6, 0.0, 2)
    assert rows["task2"]["cells"][0] is None  # team-a never ran task2
    assert rows["task2"]["cells"][1]["mean"] == pytest.approx(0.45)


def test_the_table_keeps_the_latest_result_of_each_submission_and_says_so(tmp_path: Path) -> None:
    image = "airlock/sample-logreg"
    root = store(
        tmp_path / "results",
        submission_result(image, image, "task1", [0.5, 0.5], minutes=1, bundle_hash="c"),
        submission_result(image, image, "task1", [0.7, None], minutes=2, status=Status.CRASHED),
    )
    table = airlock("results", "table", "--results", root)
    assert table.exit_code == 0
    assert "(1 failed)" in table.stdout and "0.500" not in table.stdout
    assert "\n" + image not in table.stdout.split("task1")[0]  # one header line: the image
    assert table.stderr == (
        "airlock: note: 1 older result(s) not shown: each cell is the latest result of its "
        "team, image and bundle\n"
    )
    quiet = airlock("results", "table", "--results", root, "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, table.stdout, "")
    document = json_of(
        airlock("results", "table", "--results", root, "--json"), shapes.ResultsTableJSON
    )
    # The team is the image's repository (the default), so the header is the image alone.
    assert document["columns"] == [{"team": image, "image": image}]
    (cell,) = document["rows"][0]["cells"]
    assert cell is not None
    assert (cell["mean"], cell["n_folds"], cell["n_scored"]) == (None, 2, 0)
    assert cell["failed_folds"] == ["f0"]
    assert cell["bundle_hash"] == "sha256:" + "b" * 64
    assert cell["finished_at"] == (T0 + timedelta(minutes=2)).isoformat()


def test_an_empty_store_is_one_error_line_saying_what_to_do(tmp_path: Path) -> None:
    for json_flag in ([], ["--json"]):
        result = airlock("results", "table", "--results", tmp_path, *json_flag)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == (
            f"airlock: error: no results in {tmp_path}; run `airlock run --results {tmp_path}` "
            "first, or give --results the store that holds them\n"
        )


# --- leaderboard --------------------------------------------------------------------------


def leaderboard_store(root: Path) -> Path:
    return store(
        root,
        submission_result("strong", "strong/m:1", "task1", [0.9, 0.8], image="a"),
        submission_result("strong", "strong/m:1", "task2", [0.7, 0.7], image="a"),
        submission_result("weak", "weak/m:1", "task1", [0.55, 0.5], image="b"),
        submission_result("weak", "weak/m:1", "task2", [0.4, 0.5], image="b"),
        submission_result("failing", "f/m:1", "task1", [None, 0.99], image="c", status=Status.TIMEOUT),
        submission_result("failing", "f/m:1", "task2", [0.99, 0.99], image="c"),
        submission_result("local", "command: x", "task1", [1.0, 1.0], image="d", isolation="none"),
    )  # fmt: skip


def test_leaderboard_json_is_the_ranking_and_the_files_are_written(tmp_path: Path) -> None:
    root, out = leaderboard_store(tmp_path / "results"), tmp_path / "board"
    result = airlock("leaderboard", "--results", root, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    document = json_of(result, shapes.LeaderboardJSON)
    assert (document["out"], document["per_team"], document["left_out"]) == (str(out), "best", 1)
    assert "left out 1 result(s) of local --command runs" in result.stderr
    assert f"wrote {out}/leaderboard.{{md,csv,html}}" in result.stderr
    (board,) = document["boards"]
    assert board["title"] == "Other bundles"
    assert board["rule"].startswith("composite = mean over bundles")
    assert board["tasks"] == [
        {"bundle": "task1", "task": "task1", "metric": "auroc"},
        {"bundle": "task2", "task": "task2", "metric": "auroc"},
    ]
    ranked = [(row["rank"], row["team"], row["image"], row["complete"]) for row in board["rows"]]
    assert ranked == [
        (1, "strong", "strong/m:1", True),
        (2, "weak", "weak/m:1", True),
        (3, "failing", "f/m:1", False),
    ]
    strong, weak, failing = board["rows"]
    assert strong["composite"] == pytest.approx((0.85 + 0.7) / 2)
    assert weak["composite"] == pytest.approx((0.525 + 0.45) / 2)
    assert strong["image_id"] == "sha256:" + "a" * 64
    assert [(t["task"], t["status"]) for t in strong["tasks"]] == [
        ("task1", "scored"),
        ("task2", "scored"),
    ]
    assert [t["value"] for t in strong["tasks"]] == pytest.approx([0.85, 0.7])
    failed, scored = failing["tasks"]
    assert (failed["status"], failed["value"]) == ("failed", None)
    assert "timeout" in failed["reason"]
    assert (scored["status"], scored["value"]) == ("scored", pytest.approx(0.99))
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html"):
        assert "strong" in (out / name).read_text()


def test_leaderboard_quiet_prints_nothing_but_errors(tmp_path: Path) -> None:
    root, out = leaderboard_store(tmp_path / "results"), tmp_path / "board"
    loud = airlock("leaderboard", "--results", root, "--out", out)
    assert loud.exit_code == 0
    assert "left out 1 result(s)" in loud.output and "wrote" in loud.stdout
    quiet = airlock("leaderboard", "--results", root, "--out", out, "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (out / "leaderboard.md").is_file()
    bad = airlock("leaderboard", "--results", root, "--out", out, "-q", "--per-team", "first")
    assert bad.exit_code == 2
    assert bad.stderr == (
        "airlock: error: --per-team 'first' is not a choice; use best or latest\n"
    )


def test_an_unwritable_leaderboard_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    root, out = leaderboard_store(tmp_path / "results"), tmp_path / "taken"
    out.write_text("a file, not a directory")
    result = airlock("leaderboard", "--results", root, "--out", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"airlock: error: cannot write the leaderboard to {out}: ")
    assert last.endswith("; give --out a directory you can write")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- bundle list --------------------------------------------------------------------------


def test_bundle_list_json_describes_every_bundle(tmp_path: Path) -> None:
    root = tmp_path / "bundles"
    for name in sorted(p.parent.name for p in SAMPLES.glob("*/bundle.yaml")):
        copy_bundle(name, root)
    broken = root / "zz-broken"
    broken.mkdir()
    (broken / "bundle.yaml").write_text("id: [unclosed\n")
    result = airlock("bundle", "list", root, "--json")
    assert result.exit_code == 0, result.output
    document = json_of(result, shapes.BundleListJSON)
    assert document["root"] == str(root)
    *valid, invalid = document["bundles"]
    assert len(valid) == len(list(SAMPLES.glob("*/bundle.yaml"))) >= 4
    for item in valid:
        path = Path(item["path"])
        spec = yaml.safe_load((path / "bundle.yaml").read_text())
        assert item["valid"] is True and item["problem"] is None
        assert item["id"] == spec["id"] == path.name
        assert item["task_type"] == spec["task_type"]
        assert item["folds"] == len(spec["folds"])
        assert item["primary_metric"] == spec["metrics"]["primary"]
        assert item["title"] == spec["title"]
        assert item["hash"] == manifest.bundle_hash(SAMPLES / path.name / manifest.MANIFEST_NAME)
    assert invalid["path"] == str(broken)
    assert invalid["valid"] is False and invalid["id"] is None and invalid["hash"] is None
    assert "bundle.yaml" in invalid["problem"] and "not valid YAML" in invalid["problem"]
    assert f"`airlock bundle validate {broken}` lists every problem" in result.stderr
    quiet = airlock("bundle", "list", root, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert "zz-broken" in quiet.stdout and "synth-loco-3class" in quiet.stdout


# --- bundle validate ----------------------------------------------------------------------


def test_bundle_validate_json_lists_each_problem_with_its_place(tmp_path: Path) -> None:
    bundle = copy_bundle(LOCO, tmp_path)
    (bundle / "sealed" / "crew_C3" / "y.csv").unlink()
    x = bundle / "folds" / "crew_C1" / "test" / "X.csv"
    lines = x.read_text().splitlines()
    cells = lines[2].split(",")
    cells[3] = "abc"
    lines[2] = ",".join(cells)
    x.write_text("\n".join(lines) + "\n")
    expected = validate_bundle(bundle)
    assert len(expected) >= 2
    result = airlock("bundle", "validate", bundle, SAMPLES / LOCO, "--json")
    assert result.exit_code == 1  # unchanged by --json
    document = json_of(result, shapes.ValidateJSON)
    assert document["ok"] is False
    broken, good = document["bundles"]
    assert (good["path"], good["ok"], good["problems"]) == (str(SAMPLES / LOCO), True, [])
    assert (broken["path"], broken["ok"]) == (str(bundle), False)
    assert broken["problems"] == [
        {"file": display_path(p.path), "line": p.line, "column": p.column, "message": p.message}
        for p in expected
    ]
    header = lines[0].split(",")
    assert {"file": display_path(x), "line": 3, "column": header[3]} in [
        {k: p[k] for k in ("file", "line", "column")} for p in broken["problems"]
    ]
    assert any(
        "sealed labels of fold 'crew_C3' missing" in p["message"] for p in broken["problems"]
    )
    assert f"{bundle}: {len(expected)} problem(s)" in result.stderr
    ok = airlock("bundle", "validate", SAMPLES / LOCO, "--json")
    assert ok.exit_code == 0
    assert json_of(ok, shapes.ValidateJSON) == {
        "ok": True,
        "bundles": [{"path": str(SAMPLES / LOCO), "ok": True, "problems": []}],
    }


def test_bundle_validate_quiet_prints_only_the_problems(tmp_path: Path) -> None:
    ok = airlock("bundle", "validate", SAMPLES / LOCO, "--quiet")
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "", "")
    bundle = copy_bundle(LOCO, tmp_path)
    (bundle / "sealed" / "crew_C3" / "y.csv").unlink()
    bad = airlock("bundle", "validate", bundle, "-q")
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == [str(p) for p in validate_bundle(bundle)]
    assert bad.stderr == ""
    # A sealed directory left in a bundle checked as published is a warning, kept with -q.
    public = airlock("bundle", "validate", SAMPLES / LOCO, "--public", "-q")
    assert public.exit_code == 0
    assert public.stderr.startswith("airlock: warning: ")
    assert "sealed exists and was not checked" in public.stderr


# --- bundle import ------------------------------------------------------------------------


def test_bundle_import_quiet_drops_notes_and_keeps_errors(tmp_path: Path) -> None:
    source = tmp_path / "genelab"
    (source / "tasks").mkdir(parents=True)  # a checkout without task A4
    command = ["bundle", "import", "genelab", "--source", source, "--out", tmp_path / "out"]
    loud = airlock(*command, "--tasks", "A4")
    quiet = airlock(*command, "--tasks", "A4", "--quiet")
    assert loud.exit_code == quiet.exit_code == 1
    assert "airlock: note: no --salt-key" in loud.stderr
    error = f"airlock: error: A4: expected one folder A4_* in {source / 'tasks'}, found []"
    assert error in loud.stderr
    assert quiet.stderr.startswith(error)
    assert "note" not in quiet.stderr
