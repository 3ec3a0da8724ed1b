"""The benchmark scripts start the way `make bench*` runs them (``python benchmarks/X.py``,
which puts benchmarks/ first on sys.path), and every benchmark the Makefile, README and docs
name exists."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

BENCHMARKS = sorted((REPO / "benchmarks").glob("*.py"))
NAMED = re.compile(r"benchmarks/([A-Za-z0-9_]+\.py)")


def test_no_benchmark_shadows_a_module() -> None:
    """A script's folder comes first on sys.path: a file named like a module anything imports
    (benchmarks/queue.py once broke scikit-learn's import in `make bench-scoring`) replaces it."""
    for path in BENCHMARKS:
        name = path.stem
        assert name not in sys.stdlib_module_names, f"{path.name} shadows the standard library"
        spec = importlib.util.find_spec(name)
        assert spec is None or Path(spec.origin or "").parent == path.parent, (
            f"{path.name} shadows the installed module {spec.origin}"
        )


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.name)
def test_every_benchmark_imports_and_starts(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_makefile_readme_and_docs_name_existing_benchmarks() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in ("bench", "bench-scoring", "bench-pool"):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert recipe is not None, f"no `make {target}`"
        assert NAMED.search(recipe.group(1)), f"`make {target}` runs no benchmark script"
    texts = [makefile, (REPO / "README.md").read_text()]
    texts += [p.read_text() for p in sorted((REPO / "docs").glob("*.md"))]
    named = {name for text in texts for name in NAMED.findall(text)}
    assert named, "nothing names a benchmark"
    missing = sorted(name for name in named if not (REPO / "benchmarks" / name).is_file())
    assert missing == []
