"""The shape of ``runner/``, checked by reading the source (nothing is imported).

Short modules with one job each, short functions, an import graph without cycles, and one
seam to the container engine: code outside ``runner/sandbox/`` reaches an engine only through
``runner.sandbox.base.SandboxProvider`` and ``runner.sandbox.providers.provider_for``. A
failure names every offender (file, function, line count or the cycle), so the report is the
to-do list.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.helpers import REPO

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60  # from the ``def`` line to the last line; decorators excluded
PACKAGE = REPO / "runner"
SANDBOX_PACKAGE = "runner.sandbox"
ENGINE_MODULES = ("docker", "runner.sandbox.docker")


@dataclass(frozen=True)
class Module:
    """One source file of the package, parsed once."""

    name: str
    path: Path
    tree: ast.Module
    lines: int

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def shown(self) -> str:
        return self.path.relative_to(REPO).as_posix()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = _module_name(path)
        found[name] = Module(
            name, path, ast.parse(text, filename=str(path)), len(text.splitlines())
        )
    return found


def _imported_names(module: Module) -> Iterator[str]:
    """What each import statement in ``module`` loads, anywhere in the file (functions and
    ``TYPE_CHECKING`` blocks included): ``import a.b`` loads ``a.b``; ``from a import y``
    loads the module ``a.y`` when there is one, else ``a``."""
    modules = _modules()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def _import_graph() -> dict[str, set[str]]:
    """Runner module -> the runner modules it imports."""
    modules = _modules()
    return {
        name: {target for target in _imported_names(module) if target in modules} - {name}
        for name, module in modules.items()
    }


def _function_lengths(tree: ast.Module) -> Iterator[tuple[str, int, int]]:
    """(name, ``def`` line, lines from the ``def`` to the last line) of every function and
    method, nested ones included; decorators are not counted (``lineno`` is the ``def``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.lineno, (node.end_lineno or node.lineno) - node.lineno + 1


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_within(graph, set(component)) for component in components]


def _cycle_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - Tarjan said so


def test_the_walk_sees_the_package() -> None:
    modules = _modules()
    assert {"runner.run", "runner.cli", "runner.sandbox.base"} <= set(modules)
    graph = _import_graph()
    assert "runner.sandbox.base" in graph["runner.sandbox.docker.sandbox"]
    assert "runner.cli.errors" in graph["runner.cli.run"]


def test_cycle_finder_reports_the_loop() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_read_as_python_resolves_them() -> None:
    source = (
        "import docker.errors\n"
        "from runner.sandbox import docker as engine\n"
        "from . import base\n"
        "def later() -> None:\n"
        "    from ..results.store import store_at\n"
    )
    module = Module("runner.sandbox.fake", PACKAGE / "sandbox" / "fake.py", ast.parse(source), 5)
    assert sorted(_imported_names(module)) == [
        "docker.errors",
        "runner.results.store",
        "runner.sandbox.base",
        "runner.sandbox.docker",
    ]


def test_function_length_runs_from_def_to_last_line() -> None:
    source = '@cache\ndef f(\n    x: int,\n) -> int:\n    """Doc."""\n    return x\n'
    assert list(_function_lengths(ast.parse(source))) == [("f", 2, 5)]


def test_no_import_cycles_between_runner_modules() -> None:
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles in runner/:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_is_long() -> None:
    long = [m for m in _modules().values() if m.lines > MAX_MODULE_LINES]
    report = [f"{m.shown}: {m.lines} lines" for m in sorted(long, key=lambda m: -m.lines)]
    assert not report, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(report)


def test_no_function_is_long() -> None:
    report = [
        f"{module.shown}:{line} {name}: {length} lines"
        for module in _modules().values()
        for name, line, length in _function_lengths(module.tree)
        if length > MAX_FUNCTION_LINES
    ]
    assert not report, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(report)


def test_only_the_sandbox_package_touches_the_engine() -> None:
    report = []
    for module in _modules().values():
        if module.name == SANDBOX_PACKAGE or module.name.startswith(f"{SANDBOX_PACKAGE}."):
            continue
        for name in sorted(set(_imported_names(module))):
            if any(name == engine or name.startswith(f"{engine}.") for engine in ENGINE_MODULES):
                report.append(f"{module.shown} imports {name}")
    assert not report, (
        "outside runner/sandbox/, reach an engine through SandboxProvider and provider_for:\n"
        + "\n".join(sorted(report))
    )
