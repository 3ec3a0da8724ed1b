"""Demultiplexing Docker's attach stream (pure; no sockets here).

Without a TTY, Docker frames the combined output as: one byte stream id (1 stdout,
2 stderr), three zero bytes, a 4-byte big-endian payload length, then the payload.
"""

from __future__ import annotations

import struct

from runner.errors import Signal

STDOUT = 1
STDERR = 2
_HEADER = struct.Struct(">BxxxL")


class FrameError(Signal, ValueError):
    """The engine sent bytes that are not a valid frame header."""


class Demuxer:
    """Incremental frame parser: feed it any chunks, get ``(stream, payload)`` pieces back.

    Payloads are returned as they arrive (a large frame comes out in several pieces), so
    memory stays bounded by the chunk size, never by the frame size.
    """

    def __init__(self) -> None:
        self._header = bytearray()
        self._stream = 0
        self._remaining = 0

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        pieces: list[tuple[int, bytes]] = []
        view = memoryview(data)
        while view:
            if self._remaining == 0:
                need = _HEADER.size - len(self._header)
                self._header += view[:need]
                view = view[need:]
                if len(self._header) < _HEADER.size:
                    break
                stream, length = _HEADER.unpack(self._header)
                self._header.clear()
                if stream not in (0, STDOUT, STDERR):
                    raise FrameError(f"unknown stream id {stream} in attach stream")
                self._stream, self._remaining = stream, length
                continue
            take = min(self._remaining, len(view))
            if self._stream in (STDOUT, STDERR):
                pieces.append((self._stream, bytes(view[:take])))
            view = view[take:]
            self._remaining -= take
        return pieces
