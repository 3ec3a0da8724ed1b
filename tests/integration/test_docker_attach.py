"""The attach socket belongs to the runner alone. The Docker SDK keeps the hijacked
connection inside its HTTP response objects and closes it whenever they are torn down (an
unlucky garbage collection once closed a fold's socket between attach and start: "Bad file
descriptor", an internal error in CI). Airlock takes a duplicate of the descriptor, so no
SDK object can close the stream a fold is using."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from runner.sandbox.docker.client import DockerEngine
from runner.sandbox.docker.streams import STDOUT, Demuxer

pytestmark = pytest.mark.docker


def _echo_through(sock: socket.socket, engine: DockerEngine, container_id: str) -> bytes:
    engine.start(container_id)
    sock.settimeout(20)
    sock.sendall(b"still here\n")
    sock.shutdown(socket.SHUT_WR)
    demux, out = Demuxer(), b""
    while chunk := sock.recv(4096):
        out += b"".join(payload for stream, payload in demux.feed(chunk) if stream == STDOUT)
    return out


def test_the_stream_survives_the_sdk_closing_its_own_socket(docker_client: Any) -> None:
    engine = DockerEngine()
    sdk_sockets: list[socket.socket] = []
    real_attach = engine._api.attach_socket

    def keep_what_the_sdk_returns(*args: Any, **kwargs: Any) -> Any:
        wrapped = real_attach(*args, **kwargs)
        sdk_sockets.append(wrapped._sock)
        return wrapped

    engine._api.attach_socket = keep_what_the_sdk_returns
    container_id = engine.create(
        {"image": "airlock/base:bookworm", "command": ["cat"], "stdin_open": True}
    )
    try:
        sock = engine.attach(container_id)
        (sdk_socket,) = sdk_sockets
        assert sdk_socket is not sock and sdk_socket.fileno() != sock.fileno()
        sdk_socket.close()  # what the SDK's response does when it is collected
        try:
            assert _echo_through(sock, engine, container_id) == b"still here\n"
        finally:
            sock.close()
    finally:
        engine.remove(container_id)
