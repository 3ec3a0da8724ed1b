"""`--command` honesty: the local interpreter's libraries against the image's base."""

from __future__ import annotations

import sys
from pathlib import Path

from runner import versions


def test_labels_in_both_spellings_parse() -> None:
    assert versions.parse_versions(
        "numpy=1.24.2 scikit-learn==1.2.1 xgboost-cpu==3.2.0 python=3.11.2"
    ) == {"numpy": "1.24.2", "scikit-learn": "1.2.1", "xgboost": "3.2.0", "python": "3.11.2"}


def test_the_base_image_comes_from_the_dockerfile(tmp_path: Path) -> None:
    assert versions.base_image(tmp_path) == "airlock/sdk:latest"
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE=airlock/baselines:latest\nFROM ${BASE_IMAGE}\n"
    )
    assert versions.base_image(tmp_path) == "airlock/baselines:latest"
    (tmp_path / "Dockerfile").write_text("FROM my/base:2 AS build\n")
    assert versions.base_image(tmp_path) == "my/base:2"


def test_differences_name_each_library_and_python_by_minor_version() -> None:
    local = {"scikit-learn": "1.9.1", "numpy": "1.24.2", "python": "3.11.7"}
    image = {"scikit-learn": "1.2.1", "numpy": "1.24.2", "python": "3.11.2", "xgboost": "1.7.4"}
    found = versions.differences(local, image)
    assert found == ["scikit-learn 1.9.1 here vs 1.2.1 in the image"]
    line = versions.warning("airlock/sdk:latest", found)
    assert line is not None and "\n" not in line and "scikit-learn 1.9.1" in line
    assert versions.warning("airlock/sdk:latest", []) is None


def test_local_versions_ask_the_command_s_own_interpreter(tmp_path: Path) -> None:
    found = versions.local_versions(
        f"{sys.executable} model.py", ["numpy", "no-such-lib"], tmp_path
    )
    assert found is not None and "numpy" in found and "no-such-lib" not in found
    assert found["python"].startswith("3.")
    assert versions.local_versions("node main.js", ["numpy"], tmp_path) is None
