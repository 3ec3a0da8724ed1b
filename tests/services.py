"""Real services on loopback for the worker-pool tests and benchmarks/queue.py: a RabbitMQ
node (Debian's rabbitmq-server) with its own data directory, a Docker registry (Debian's
docker-registry), and `airlock worker` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REGISTRY = Path("/usr/bin/docker-registry")


class ServiceError(RuntimeError):
    """A service did not start."""


RABBITMQ = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise ServiceError(f"{what} did not listen on port {port} within {seconds:.0f} s")


@dataclass
class Broker:
    """A RabbitMQ node with its own data directory (durable queues survive a restart)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> None:
        config = self.root / "rabbitmq.conf"
        # consumer_timeout above the longest fold: a long fold is never redelivered while it runs
        config.write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\nconsumer_timeout = 86400000\n"
        )
        env = {
            **os.environ, "HOME": str(self.root), "RABBITMQ_NODENAME": f"airlock-test-{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 10000 if self.port < 55000 else self.port - 10000),
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"), "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root / "log"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "plugins"),
            "RABBITMQ_PID_FILE": str(self.root / "pid"),
        }  # fmt: skip
        self.process = subprocess.Popen(
            [str(RABBITMQ)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_port(self.port, 60, "RabbitMQ")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Registry:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.root / "config.yml").write_text(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
            + str(self.root / "data")
            + f"\nhttp:\n  addr: 127.0.0.1:{self.port}\nlog:\n  level: error\n"
        )
        self.process = subprocess.Popen(
            [str(REGISTRY), "serve", str(self.root / "config.yml")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, 30, "the registry")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait()
            self.process = None


def push(docker_client: Any, registry: str, image: str, name: str) -> str:
    """Tag ``image`` into the registry and push it; returns the pushed reference."""
    target = f"{registry}/{name}:test"
    docker_client.images.get(image).tag(target)
    for line in docker_client.images.push(target, stream=True, decode=True):
        if "error" in line:
            raise ServiceError(f"push {target}: {line['error']}")
    return target


@dataclass
class Pool:
    """Worker processes for one test; all stopped (and their logs kept) at the end."""

    env: dict[str, str]
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, name: str, queues: str = "cpu", concurrency: int = 1
    ) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "runner", "worker", "--queues", queues, "--concurrency", str(concurrency), "--name", f"{name}@test"],
            cwd=REPO, env=self.env, stdout=log, stderr=log,
        )  # fmt: skip
        self.workers.append(process)
        return process

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
