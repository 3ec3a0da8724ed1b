"""`airlock init` as a participant uses it: scaffold, then the README's own commands
(build, dry run on every sample bundle, quick local run) work unchanged."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SAMPLES, run_airlock

pytestmark = pytest.mark.docker


def _readme_commands(readme: str) -> list[str]:
    """The shell commands of the README's code blocks, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


@pytest.mark.parametrize("template", ["python", "xgboost"])
def test_a_scaffolded_submission_builds_and_passes_the_dry_run_on_every_sample_bundle(
    template: str, tmp_path: Path, docker_client: Any
) -> None:
    name = f"demo-model-{template}"
    made = run_airlock("init", name, "--template", template, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / name
    assert {p.name for p in folder.iterdir()} == {
        "Dockerfile", "model.py", "README.md", "requirements.txt", ".dockerignore",
    }  # fmt: skip
    commands = _readme_commands((folder / "README.md").read_text())
    build, dry_run, submit, local = commands
    assert build == f"docker build -t {name} ."
    assert dry_run == f"airlock run --image {name} --bundle {SAMPLES}"
    assert submit.endswith(f"submit IMAGE={name}")
    assert local == f'airlock run --command "python3 model.py" --bundle {SAMPLES}'

    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_BUILDKIT": "0",  # the base image is local: the classic builder never pulls
    }
    # The local run needs the model's libraries on this machine; the test venv has
    # scikit-learn but not xgboost, whose template is checked in its container only.
    local_ok = template == "python" or importlib.util.find_spec("xgboost") is not None
    try:
        for command in (build, dry_run, local) if local_ok else (build, dry_run):
            done = subprocess.run(
                command, shell=True, cwd=folder, env=env, capture_output=True, text=True,
                timeout=900, check=False,
            )  # fmt: skip
            assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
        results = [json.loads(p.read_text()) for p in (folder / "results").glob("*/*/result.json")]
        by_isolation: dict[str, set[str]] = {}
        for result in results:
            assert result["aggregate"]["complete"] is True, result["provenance"]["bundle_id"]
            by_isolation.setdefault(result["provenance"]["isolation"], set()).add(
                result["provenance"]["bundle_id"]
            )
        every_bundle = {p.name for p in SAMPLES.iterdir()}
        expected = {"container": every_bundle, **({"none": every_bundle} if local_ok else {})}
        assert by_isolation == expected
    finally:
        docker_client.images.remove(name, force=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad_Name"], "name 'Bad_Name': use lower-case letters"),
        (["ok-name", "--template", "cobol"], "--template 'cobol': choose one of python, xgboost"),
    ],
)
def test_init_refuses_bad_names_and_templates(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = run_airlock("init", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"airlock: error: {message}")
    assert list(tmp_path.iterdir()) == []


def test_init_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "model.py").write_text("precious")
    done = run_airlock("init", "mine", cwd=tmp_path)
    assert done.returncode == 2
    assert "already exists and is not an empty directory; nothing written" in done.stderr
    assert (tmp_path / "mine" / "model.py").read_text() == "precious"
