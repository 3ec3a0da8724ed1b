"""`airlock run` options and the one-line messages that name the cause, driven as a user
runs them (real processes; submissions as local commands, so no Docker is needed)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tests.helpers import REPO, SAMPLES, bundle_variant, run_airlock

BEHAVE = REPO / "tests" / "fixtures" / "behave"
LOCO = "synth-loco-3class"


def _run(behaviour: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "AIRLOCK_TEST_BEHAVIOUR": behaviour}
    done = run_airlock(
        "run", "--command", f"{sys.executable} behave.py", "--workdir", str(BEHAVE), *args, env=env
    )
    return done.returncode, done.stdout, done.stderr


def test_fold_runs_only_the_named_folds_and_writes_no_result(tmp_path: Path) -> None:
    results = tmp_path / "r"
    code, out, err = _run("noop", "-b", str(SAMPLES / LOCO), "--results", str(results),
                          "--fold", "crew_C2")  # fmt: skip
    assert code == 0, err
    assert "crew_C2" in out and "crew_C1" not in out
    assert "no result written for synth-loco-3class: 1 of 4 folds ran (--fold)" in out
    assert not list(results.glob("*/*/result.json"))
    assert [p.stem for p in results.glob("*/*/folds/*.json")] == ["crew_C2"]
    code, _out, err = _run("noop", "-b", str(SAMPLES / LOCO), "--fold", "crew_C9")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "airlock: error: --fold crew_C9: no such fold (folds: crew_C1, crew_C2, crew_C3, crew_C4)"
    )


def test_fail_fast_starts_nothing_after_the_first_fault(tmp_path: Path) -> None:
    results = tmp_path / "r"
    code, out, _err = _run("crash_fit", "-b", str(SAMPLES / LOCO), "--results", str(results),
                           "--fail-fast")  # fmt: skip
    assert code == 1
    assert out.count("crashed") >= 1
    assert "no result written for synth-loco-3class: 1 of 4 folds ran (--fail-fast" in out
    assert len(list(results.glob("*/*/folds/*.json"))) == 1
    assert not list(results.glob("*/*/result.json"))


def test_time_limits_can_be_lowered_for_a_dry_run_never_raised(tmp_path: Path) -> None:
    results = tmp_path / "r"
    bundle = bundle_variant(LOCO, tmp_path / "b", folds=["crew_C1"])
    code, _out, err = _run("noop", "-b", str(bundle), "--results", str(results),
                           "--fit-seconds", "7.5")  # fmt: skip
    assert code == 0, err
    (path,) = results.glob("*/*/result.json")
    assert json.loads(path.read_text())["provenance"]["limits"]["fit_seconds"] == 7.5
    code, _out, err = _run("noop", "-b", str(bundle), "--fit-seconds", "9999")
    assert code == 2
    assert "--fit-seconds 9999 must be above 0 and at most bundle 'synth-loco-3class'" in err
    done = run_airlock("run", "--image", "x", "-b", str(bundle), "--sealed-mode",
                       "--fit-seconds", "5")  # fmt: skip
    assert done.returncode == 2 and "are for dry runs" in done.stderr


def test_quiet_prints_only_results_and_errors(tmp_path: Path) -> None:
    bundle = bundle_variant(LOCO, tmp_path / "b", folds=["crew_C1"])
    code, out, err = _run("noop", "-b", str(bundle), "--results", str(tmp_path / "r"), "-q")
    assert code == 0
    assert out.startswith("result: ") and len(out.strip().splitlines()) == 1
    # Only a warning may remain (this interpreter's libraries against the image's).
    assert all(line.startswith("warning: ") for line in err.splitlines())


def test_messages_name_the_cause(tmp_path: Path) -> None:
    def error(*args: str) -> str:
        code, out, err = _run("noop", *args, "--results", str(tmp_path / "r"))
        assert code == 2, out + err
        lines = [
            line
            for line in err.strip().splitlines()
            if not line.startswith(("NOT SEALED", "warning: "))
        ]
        assert len(lines) == 1 and "Traceback" not in err
        return lines[0]

    assert (
        error("-b", str(tmp_path / "nope"))
        == f"airlock: error: {tmp_path / 'nope'}: does not exist"
    )
    edited = bundle_variant(LOCO, tmp_path / "edited", folds=["crew_C1"])
    with (edited / "folds" / "crew_C1" / "test" / "X.csv").open("a") as handle:
        handle.write("\n")
    assert f"run `airlock bundle manifest {edited}`" in error("-b", str(edited))
    unsealed = bundle_variant(LOCO, tmp_path / "unsealed", folds=["crew_C1"])
    shutil.rmtree(unsealed / "sealed")
    assert "pass --sealed DIR" in error("-b", str(unsealed))
    other = bundle_variant(LOCO, tmp_path / "other", folds=["crew_C1"])
    text = error("-b", str(other), "--sealed", str(SAMPLES / "synth-lomo-highdim" / "sealed"))
    assert "sealed labels of bundle 'synth-loco-3class' not found" in text or (
        "do not match bundle 'synth-loco-3class'" in text
    )
    mixed = bundle_variant(LOCO, tmp_path / "mixed", folds=["crew_C1"])
    foreign = bundle_variant(LOCO, tmp_path / "foreign", folds=["crew_C1"])
    (foreign / "sealed" / "crew_C1" / "y.csv").write_text(
        (foreign / "sealed" / "crew_C1" / "y.csv").read_text().replace("recovery", "pre_flight")
    )
    text = error("-b", str(mixed), "--sealed", str(foreign / "sealed"))
    assert "do not match bundle 'synth-loco-3class'" in text and "--sealed DIR" in text
