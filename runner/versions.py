"""Are a local `--command` run and the image the same code? Library versions, compared.

A model scored by a local process uses the libraries of the machine's interpreter; the image
it will be built into has its own (recorded in the base image's ``io.airlock.versions``
label). A different scikit-learn can change scores (0.886 against 1.000 on one fold was
seen), so before a ``--command`` run Airlock compares the two and says so in one line.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

VERSIONS_LABEL = "io.airlock.versions"
DEFAULT_BASE = "airlock/sdk:latest"
_ALIASES = {"xgboost-cpu": "xgboost", "sklearn": "scikit-learn"}
_PROBE = (
    "import importlib.metadata as m, json, sys\n"
    "names = json.loads(sys.argv[1])\n"
    "found = {}\n"
    "for n in names:\n"
    "    try:\n"
    "        found[n] = m.version(n)\n"
    "    except m.PackageNotFoundError:\n"
    "        pass\n"
    "found['python'] = '%d.%d.%d' % sys.version_info[:3]\n"
    "print(json.dumps(found))\n"
)


def parse_versions(label: str) -> dict[str, str]:
    """``numpy=1.24.2 scikit-learn==1.2.1`` -> {"numpy": "1.24.2", "scikit-learn": "1.2.1"}."""
    found = {}
    for item in label.split():
        name, _, version = item.partition("=")
        name = _ALIASES.get(name.lower(), name.lower())
        if version:
            found[name] = version.lstrip("=")
    return found


def base_image(workdir: Path) -> str:
    """The image a submission's Dockerfile builds on (``ARG BASE_IMAGE`` default or
    ``FROM``); the SDK image when there is no Dockerfile."""
    dockerfile = workdir / "Dockerfile"
    try:
        text = dockerfile.read_text()
    except OSError:
        return DEFAULT_BASE
    args = dict(re.findall(r"^\s*ARG\s+(\w+)=(\S+)", text, re.MULTILINE | re.IGNORECASE))
    match = re.search(r"^\s*FROM\s+(\S+)", text, re.MULTILINE | re.IGNORECASE)
    if match is None:
        return DEFAULT_BASE
    image = match.group(1)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def local_versions(command: str, names: list[str], workdir: Path) -> dict[str, str] | None:
    """The versions the command's Python interpreter has (None when it is not Python)."""
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return None
    if not Path(program).name.startswith("python"):
        return None
    try:
        done = subprocess.run(
            [program, "-c", _PROBE, json.dumps(names)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        found = json.loads(done.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return {_ALIASES.get(k.lower(), k.lower()): str(v) for k, v in found.items()}


def differences(local: dict[str, str], image: dict[str, str]) -> list[str]:
    """``name here vs there`` for every library both know in different versions (the
    Python version compared by major.minor)."""
    found = []
    for name in sorted(set(local) & set(image)):
        mine, theirs = local[name], image[name]
        if name == "python":
            mine, theirs = ".".join(mine.split(".")[:2]), ".".join(theirs.split(".")[:2])
        if mine != theirs:
            found.append(f"{name} {local[name]} here vs {image[name]} in the image")
    return found


def warning(base: str, found: list[str]) -> str | None:
    if not found:
        return None
    return (
        f"warning: this --command run uses other library versions than {base}, which your "
        f"image builds on ({'; '.join(found)}): scores may differ from the image's; build it "
        "and run --image for the real thing"
    )
