"""Length-prefixed framing: whatever the reads' boundaries, the decoder yields the frames sent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transports.errors import FrameError
from transports.framing import FrameDecoder, encode_frames

frames_strategy = st.lists(st.binary(max_size=300), max_size=30)


@settings(max_examples=300, deadline=None)
@given(frames=frames_strategy, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_split_of_the_stream_into_reads_yields_the_frames_in_order(frames, cuts):
    wire = encode_frames(frames)
    points = sorted({0, len(wire), *(c % (len(wire) + 1) for c in cuts)})
    decoder = FrameDecoder(1 << 20)
    got = []
    for start, stop in zip(points, points[1:]):
        got += decoder.feed(wire[start:stop])
    assert got == frames
    assert decoder.buffered == 0
    decoder.check_eof()  # nothing cut off


@given(frames=frames_strategy, raw=st.integers(min_value=0, max_value=10_000))
def test_frames_buffered_raw_behind_a_handshake_come_out_of_the_next_feed(frames, raw):
    """feed_raw keeps bytes unsplit (the handshake reads exact byte counts); what follows them
    is framed by the next feed, even an empty one."""
    handshake = b"HELLO"
    wire = handshake + encode_frames(frames)
    cut = len(handshake) + raw % (len(wire) - len(handshake) + 1)
    decoder = FrameDecoder(1 << 20)
    decoder.feed_raw(wire[:cut])
    assert decoder.take_raw(len(handshake)) == handshake
    assert decoder.feed(b"") + decoder.feed(wire[cut:]) == frames


@given(frames=st.lists(st.binary(max_size=50), min_size=1, max_size=5), short=st.integers(min_value=1))
def test_a_stream_ending_inside_a_frame_is_reported_as_truncated(frames, short):
    wire = encode_frames(frames)
    last = 4 + len(frames[-1])  # the last frame's bytes on the wire: cut 1 to all but one of them
    decoder = FrameDecoder(1 << 20)
    assert decoder.feed(wire[:len(wire) - (1 + short % (last - 1))]) == frames[:-1]
    with pytest.raises(FrameError, match="truncated frame"):
        decoder.check_eof()


@pytest.mark.parametrize("split_at", [0, 1, 3, 4, 5, 20, 24, 30])
def test_an_oversize_length_is_refused_as_soon_as_its_prefix_is_complete(split_at):
    """Also when the prefix arrives cut in two, or behind a frame that completes a previous read.
    The good frame before it comes out first, wherever the reads split (nothing good is lost);
    the refusal is raised by the read that finds it or, behind frames, by the next one."""
    good = encode_frames([b"a" * 16])  # 20 bytes on the wire
    wire = good + (5000).to_bytes(4, "little") + b"x" * 10
    decoder = FrameDecoder(1000)
    got = []
    with pytest.raises(FrameError, match="5000 bytes, above the maximum of 1000"):
        got += decoder.feed(wire[:split_at])
        got += decoder.feed(wire[split_at:])
        decoder.feed(b"")
    assert got == [b"a" * 16]
