"""Sandbox providers by name, chosen in one place.

``docker`` runs each fold in an isolated container on a Docker engine (the only provider
that may run sealed evaluations); ``local`` runs the submission as a plain local process for
quick iteration (``airlock run --command``). Nothing else in the runner names a provider
class: commands, workers and ``airlock doctor`` ask for one here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError

if TYPE_CHECKING:
    from runner.sandbox.base import SandboxProvider

NAMES = ("docker", "local")


def provider_for(name: str = "docker", **options: Any) -> SandboxProvider:
    """A provider by name. ``local`` takes ``command`` and ``workdir``; ``docker`` an
    optional ``engine`` (for tests: an engine double) and ``timeout``."""
    if name == "docker":
        from runner.sandbox.docker.client import DockerEngine
        from runner.sandbox.docker.sandbox import DockerProvider

        engine = options.get("engine") or DockerEngine(timeout=options.get("timeout", 60.0))
        return DockerProvider(engine)
    if name == "local":
        from runner.sandbox.process import ProcessProvider

        return ProcessProvider(str(options["command"]), Path(options.get("workdir", ".")))
    raise UsageError(f"unknown sandbox provider {name!r}; known: {', '.join(NAMES)}")
