"""Shared set-up of the hostile suite: the 2-fold bundle, the network listeners and a report
of every case (written to test-artifacts/hostile-report.md for docs/security.md)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, bundle_variant

TARGET_FOLD = "mission_M1"
REPORT = REPO / "test-artifacts" / "hostile-report.md"


@pytest.fixture(scope="session")
def hostile_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two folds (the first one is attacked), short limits, 256 MiB of memory."""
    return bundle_variant(
        "synth-lomo-highdim",
        tmp_path_factory.mktemp("hostile"),
        folds=["mission_M1", "mission_M2"],
        time_limits={"handshake_seconds": 8, "fit_seconds": 15, "predict_seconds": 8},
        resources={"memory": "256MiB", "cpus": 1.0, "gpus": 0},
    )


class Listener:
    """TCP and UDP servers on every host address (loopback and the Docker bridge gateway)
    that record whatever reaches them."""

    def __init__(self) -> None:
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.port = self.tcp.getsockname()[1]
        self.tcp.listen()
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", self.port))
        self.udp.settimeout(0.2)
        self.seen: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._accept, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, address = self.tcp.accept()
            except OSError:
                continue
            self.seen.append(f"tcp from {address[0]}")
            conn.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                _, address = self.udp.recvfrom(2048)
            except OSError:
                continue
            self.seen.append(f"udp from {address[0]}")

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self.tcp.close()
        self.udp.close()


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    time.sleep(0.3)
    server.close()


@pytest.fixture(scope="session")
def hostile_report() -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    yield rows
    if rows:
        REPORT.parent.mkdir(exist_ok=True)
        lines = [
            "| case | attacked fold | expected | got | other fold | runner peak RSS | reason |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in sorted(rows, key=lambda r: r["case"]):
            lines.append(
                f"| {row['case']} | {row['fold']} | {row['expected']} | {row['status']} | {row['other']} "
                f"| {row['rss_mib']:.0f} MiB | {row['reason'][:110]} |"
            )
        REPORT.write_text("\n".join(lines) + "\n")
