"""docs/organizers.md's one-machine pool recipe, run as it is written: the marked shell block
is cut into its steps (each starts with a comment) and fed, one step at a time, to one bash
process (``set -euo pipefail``), with the recipe's own settings pointed at a temporary
directory and free ports. It must end with a stored result for the enqueued submission.
The marked stop block then stops what the recipe started."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO
from tests.services import free_port

pytestmark = pytest.mark.docker

DOC = REPO / "docs" / "organizers.md"
DONE = "::airlock-recipe-step-done::"
SUBMISSION = "airlock/sample-node-centroid"
STEP_SECONDS = {"1": 300.0, "3": 150.0, "8": 240.0, "9": 330.0}


def recipe_block(name: str) -> str:
    """The fenced block right after the ``<!-- recipe:NAME ... -->`` marker."""
    text = DOC.read_text()
    found = re.search(
        rf"^<!-- recipe:{re.escape(name)}[ >].*?\n```bash\n(.*?)^```", text, re.S | re.M
    )
    assert found, f"docs/organizers.md has no block marked recipe:{name}"
    return found.group(1)


def steps(block: str) -> list[str]:
    """The block cut at blank lines; every step starts with its comment."""
    parts = [part.strip("\n") for part in re.split(r"\n\s*\n", block) if part.strip()]
    for part in parts:
        assert part.startswith("# "), f"a recipe step without its comment: {part[:60]!r}"
    return parts


class Shell:
    """One bash process that sources one step at a time (from a file, stdin from /dev/null,
    so a command that reads stdin, like rabbitmqctl, cannot swallow the next ones); output
    is read back up to the step's end."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.cwd = cwd
        self.count = 0
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd, start_new_session=True,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send("set -euo pipefail")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def run(self, step: str, seconds: float) -> list[str]:
        self.count += 1
        script = self.cwd / f".step-{os.getpid()}-{id(self)}-{self.count}.sh"
        script.write_text(step + "\n")
        self.send(f". {script} </dev/null; printf '\\n%s\\n' '{DONE}'")
        output: list[str] = []
        deadline = time.monotonic() + seconds
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"step timed out after {seconds:.0f} s:\n{step}\n--\n" + "\n".join(output)
                )
            if line is None:
                self.process.wait()
                pytest.fail(
                    f"step failed (bash exited {self.process.returncode}):\n{step}\n--\n"
                    + "\n".join(output)
                )
            if line == DONE:
                return output
            output.append(line)

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _kill_from(pid_file: Path) -> None:
    """Stop the process a pid file names, if the stop block left it running."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(50):
            time.sleep(0.2)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return


def stop_everything(env: dict[str, str], srv: Path, settings: str, stop: str) -> str:
    """Run the doc's stop block (after its settings, as the doc says); what went wrong, if
    anything (never raised: a failing recipe must show its own failure)."""
    stopper = Shell(env, srv)
    try:
        stopper.run(settings, 30)
        stopper.send("set +e")
        output = stopper.run(stop, 90)
    except BaseException as exc:  # pytest.fail raises an exception outside Exception
        return str(exc)
    finally:
        stopper.close()
    return "" if any("successfully shut down" in line for line in output) else "\n".join(output)


@pytest.fixture
def srv() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the recipe runs as root (it installs packages and starts services)")
    # the rabbitmq and docker-registry users must reach it: not under pytest's private tmp
    root = Path(tempfile.mkdtemp(prefix="airlock-recipe-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_one_machine_pool_recipe_runs_as_written(srv: Path, docker_client: Any) -> None:
    try:
        docker_client.images.get(SUBMISSION)
    except Exception:
        pytest.skip(f"{SUBMISSION} missing; run `make images`")
    block, stop = recipe_block("one-machine-pool"), recipe_block("one-machine-pool-stop")
    recipe = steps(block)
    assert [s.split(".", 1)[0] for s in recipe] == [f"# {n}" for n in range(len(recipe))]
    amqp, registry = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRLOCK_", "RABBITMQ_"))},
        "PATH": f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "AIRLOCK_SRV": str(srv), "AMQP_PORT": str(amqp), "REGISTRY_PORT": str(registry),
        "RABBITMQ_DIST_PORT": str(free_port()), "RABBITMQ_NODENAME": f"airlock-recipe-{amqp}@localhost",
    }  # fmt: skip
    outputs: dict[str, list[str]] = {}
    shell = Shell(env, srv)
    started = time.monotonic()
    try:
        for step in recipe:
            number = step[2:].split(".", 1)[0]
            outputs[number] = shell.run(step, STEP_SECONDS.get(number, 90.0))
        elapsed = time.monotonic() - started
    finally:
        shell.close()
        stopped = stop_everything(env, srv, recipe[0], stop)
        for pid_file in ("worker.pid", "registry/registry.pid", "broker/rabbitmq.pid"):
            _kill_from(srv / pid_file)
        with contextlib.suppress(Exception):  # the tag exists once step 8 got that far
            docker_client.images.remove(f"127.0.0.1:{registry}/team-a/model:1", noprune=True)
    assert stopped == "", f"the stop block failed: {stopped}"
    assert any("enqueued 4 job(s)" in line for line in outputs["8"]), outputs["8"]
    (result_file,) = (srv / "results").glob("*/*/result.json")
    result = json.loads(result_file.read_text())
    assert result["provenance"]["team"] == "team-a"
    assert result["provenance"]["log_policy"] == "sealed"
    assert [f["status"] for f in result["folds"]] == ["ok"] * 4
    assert any("synth-loco-3class" in line for line in outputs["9"]), outputs["9"]
    log = (srv / "worker.log").read_text()
    assert "Traceback" not in log
    assert "Connected to amqp://airlock:**@127.0.0.1" in log
    assert elapsed < 240, f"the recipe took {elapsed:.0f} s"
