from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.sandbox.docker.streams import STDERR, STDOUT, Demuxer, FrameError
from runner.sandbox.logs import LogCapture

frames = st.lists(
    st.tuples(st.sampled_from([STDOUT, STDERR]), st.binary(max_size=300)), max_size=20
)


def _encode(parts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack(">BxxxL", stream, len(data)) + data for stream, data in parts)


@given(parts=frames, cuts=st.lists(st.integers(min_value=1, max_value=50), max_size=40))
def test_demuxer_reassembles_any_chunking(parts: list[tuple[int, bytes]], cuts: list[int]) -> None:
    wire = _encode(parts)
    demux = Demuxer()
    got: dict[int, bytearray] = {STDOUT: bytearray(), STDERR: bytearray()}
    position = 0
    for cut in [*cuts, len(wire)]:
        for stream, data in demux.feed(wire[position : position + cut]):
            got[stream] += data
        position += cut
    for stream in (STDOUT, STDERR):
        assert bytes(got[stream]) == b"".join(d for s, d in parts if s == stream)


def test_demuxer_rejects_unknown_stream() -> None:
    with pytest.raises(FrameError):
        Demuxer().feed(struct.pack(">BxxxL", 7, 1) + b"x")


def test_log_capture_is_bounded_and_keeps_head_and_tail() -> None:
    log = LogCapture(budget=100)
    log.write(b"HEAD" + b"a" * 46)
    for _ in range(10_000):
        log.write(b"b" * 100)
    log.write(b"\nlast line\n")
    text = log.text()
    assert text.startswith("HEAD")
    assert text.endswith("last line\n")
    assert "bytes of stderr omitted" in text
    assert len(text) < 200
    assert log.total_bytes == 50 + 1_000_000 + 11
    assert log.tail_lines(1) == ["last line"]


@given(chunks=st.lists(st.binary(max_size=64), max_size=50))
def test_log_capture_loses_nothing_under_budget(chunks: list[bytes]) -> None:
    log = LogCapture(budget=10_000)
    for chunk in chunks:
        log.write(chunk)
    whole = b"".join(chunks)
    if len(whole) <= 5_000:
        assert log.text() == whole.decode("utf-8", errors="replace")
        assert log.omitted_bytes == 0
