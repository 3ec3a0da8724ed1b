"""Real services on loopback for the worker-pool tests and benchmarks/pool_throughput.py: a
RabbitMQ node (Debian's rabbitmq-server) with its own data directory, a Docker registry
(Debian's docker-registry), an S3 server (moto's standalone server) and `airlock worker`
processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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


@dataclass
class S3Server:
    """moto's standalone S3 server: a real HTTP endpoint on loopback, no in-process patching."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The AWS environment that points clients (and `airlock`) at this server."""
        return {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AIRLOCK_S3_ATTEMPTS": "2",
            "AIRLOCK_S3_TIMEOUT": "2",
        }

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(self.port, 30, "the S3 server")
        except ServiceError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a test may have paused it
            self.process.kill()
            self.process.wait()
            self.process = None

    def client(self) -> Any:
        import boto3

        env = self.env
        return boto3.client(
            "s3",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )


@contextlib.contextmanager
def s3_server(*buckets: str) -> Iterator[S3Server]:
    """A running S3 server with ``buckets`` created; stopped on exit."""
    server = S3Server(free_port())
    server.start()
    try:
        client = server.client()
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield server
    finally:
        server.stop()


# Two submissions' worth of a result store, as the S3 and status tests read it back.
KEY_A = "team-a.aaaaaa@aaaaaaaaaaaa/task1@bbbbbbbbbbbb"
KEY_B = "team-b.bbbbbb@cccccccccccc/task1@bbbbbbbbbbbb"
MISSING_LABELS = "sealed labels of bundle 'task1' not found in /srv/airlock/sealed/task1"


def fold_record(fold_id: str, status: str, reason: str = "") -> bytes:
    from datetime import UTC, datetime

    from runner.results.model import FoldResources, FoldResult
    from runner.resume import FoldRecord

    when = datetime(2025, 1, 1, tzinfo=UTC)
    result = FoldResult.model_validate(
        {"fold_id": fold_id, "status": status, "reason": reason, "n_test": 10,
         "metrics": {"auroc": 0.7} if status == "ok" else {},
         "resources": FoldResources(phases={}, wall_seconds=1.0), "started_at": when,
         "finished_at": when}
    )  # fmt: skip
    return FoldRecord(fingerprint="f" * 64, run_id="run1", result=result).model_dump_json().encode()


def store_two_submissions(store: Any, result: Any) -> None:
    """Submission A complete (two ok folds, predictions, a log, its result.json last);
    submission B half done: one ok fold and one stored as infra_error, in a fold named
    ``result`` (so its record is ``folds/result.json``), and no result.json."""
    store.put_artifact(KEY_A, "predictions/f0.csv", b"id,score\nx,0.5\n")
    store.put_artifact(KEY_A, "logs/f1.stderr.log", b"warning\n")
    store.put_artifact(KEY_A, "folds/f0.json", fold_record("f0", "ok"))
    store.put_artifact(KEY_A, "folds/f1.json", fold_record("f1", "ok"))
    store.put_result(KEY_A, result)
    store.put_artifact(KEY_B, "folds/f0.json", fold_record("f0", "ok"))
    store.put_artifact(
        KEY_B, "folds/result.json", fold_record("result", "infra_error", MISSING_LABELS)
    )


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


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL server binaries (the newest installed major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@dataclass
class Postgres:
    """A PostgreSQL server in a temporary directory, on loopback, trust auth for ``airlock``
    (started with initdb/pg_ctl; as the ``postgres`` user when the tests run as root)."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql://airlock@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise ServiceError("PostgreSQL is not installed (apt-get install postgresql)")
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres:postgres", str(self.root)], check=True)
        data = self.root / "data"
        self._run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "airlock")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        )
        self._run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                  "-l", str(self.root / "log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        binaries = postgres_bin()
        if binaries is not None:
            with contextlib.suppress(subprocess.SubprocessError):
                self._run(
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(self.root / "data"),
                    "-m",
                    "immediate",
                    "stop",
                )
