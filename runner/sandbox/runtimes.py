"""Container runtimes: which one a fold runs under, and whether a bundle allows it (pure).

runc shares the host's kernel with the submission: its isolation is namespaces, cgroups,
seccomp and the settings in ``spec.py``. gVisor's ``runsc`` puts a user-space kernel (the
sentry) between the submission and the host's, so a kernel object the host shares between
containers (file locks, counters, caches) is the sentry's own. A bundle of controlled-access
data can require it (``isolation: {runtime: runsc}`` in bundle.yaml); the runtime a fold ran
under is recorded with it and shown on the boards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_RUNTIME = "runc"
GVISOR = "runsc"

SETUP_HINT = "set it up with `sudo scripts/ensure-gvisor.sh` (docs/security.md)"


def runtime_kind(name: str, engine_runtimes: Mapping[str, Any]) -> str:
    """``runsc`` for an engine runtime whose binary is gVisor's (whatever the host named the
    entry, e.g. ``gvisor`` or ``runsc-kvm``), else what its binary is (an entry named
    ``runsc`` that runs runc is runc). A name the engine lacks is taken at its word: running
    it is refused anyway (``missing_runtime``)."""
    entry = engine_runtimes.get(name)
    if not isinstance(entry, Mapping):
        return name
    binary = str(entry.get("path") or "").rsplit("/", 1)[-1]
    if binary == GVISOR or GVISOR in str(entry.get("runtimeType") or ""):
        return GVISOR
    return name if name != GVISOR else binary or "not gVisor"


def missing_runtime(name: str, engine_runtimes: Mapping[str, Any]) -> str | None:
    """Why the engine cannot run containers under ``name``, or None when it can."""
    if name in engine_runtimes:
        return None
    found = ", ".join(sorted(engine_runtimes)) or "none"
    hint = SETUP_HINT if name == GVISOR else "add it to dockerd's runtimes and reload dockerd"
    return f"the Docker engine has no '{name}' runtime (it has: {found}); {hint}"


def refusal(
    bundle_id: str,
    required: str,
    runtime: str | None,
    kind: str | None,
    fix: str = "pass --runtime runsc",
) -> str | None:
    """Why bundle ``bundle_id`` may not run under ``runtime`` (of kind ``kind``; None for a
    local process), or None when it may; ``fix`` says what the caller's user should do."""
    if required != GVISOR or kind == GVISOR:
        return None
    if runtime is None:
        used, fix = "no container at all (--command)", "run --image IMAGE --runtime runsc"
    else:
        used = f"'{runtime}'"
    return (
        f"bundle {bundle_id} requires the gVisor runtime (isolation: {{runtime: runsc}}) but "
        f"this run uses {used}; {fix}; {SETUP_HINT}"
    )
