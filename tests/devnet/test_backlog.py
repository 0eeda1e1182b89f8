"""The relay's backlog answers a connecting client the way Nitro's wsbroadcastserver does."""

from __future__ import annotations

from mevbot.devnet.relay import FeedBacklog, backlog_frames, parse_requested_sequence_number
from mevbot.feed.codec import decode_broadcast
from mevbot.feed.messages import (
    SEQUENCER_SENDER,
    BroadcastFeedMessage,
    L1IncomingMessage,
    L1IncomingMessageHeader,
    MessageWithMetadata,
)


def message(seq: int) -> BroadcastFeedMessage:
    header = L1IncomingMessageHeader(kind=3, sender=SEQUENCER_SENDER, block_number=seq, timestamp=0, base_fee_l1=0)
    return BroadcastFeedMessage(seq, MessageWithMetadata(L1IncomingMessage(header, b"\x03"), 1), block_hash=b"\x11" * 32)


def backlog_of(first: int, last: int, size: int = 100) -> FeedBacklog:
    backlog = FeedBacklog(size)
    for seq in range(first, last + 1):
        backlog.append(message(seq))
    return backlog


def seqs(messages) -> list[int]:
    return [m.sequence_number for m in messages]


def test_requested_number_inside_the_backlog_replays_from_it():
    assert seqs(backlog_of(10, 20).replay_for(15)) == list(range(15, 21))


def test_no_requested_number_replays_the_whole_backlog():
    assert seqs(backlog_of(10, 20).replay_for(None)) == list(range(10, 21))


def test_requested_number_before_the_backlog_replays_all_it_has():
    assert seqs(backlog_of(10, 20).replay_for(3)) == list(range(10, 21))


def test_requested_number_past_the_tail_replays_the_whole_backlog():
    assert seqs(backlog_of(10, 20).replay_for(21)) == list(range(10, 21))
    assert seqs(backlog_of(10, 20).replay_for(10_000)) == list(range(10, 21))


def test_backlog_keeps_only_the_newest_messages():
    assert seqs(backlog_of(1, 50, size=8).replay_for(None)) == list(range(43, 51))


def test_a_jump_in_sequence_numbers_drops_what_came_before():
    backlog = backlog_of(1, 5)
    backlog.append(message(9))
    assert seqs(backlog.replay_for(None)) == [9]


def test_backlog_frames_hold_at_most_240_messages_each_in_order():
    frames = [decode_broadcast(f) for f in backlog_frames([message(s) for s in range(1, 501)])]
    assert [len(f.messages) for f in frames] == [240, 240, 20]
    assert [m.sequence_number for f in frames for m in f.messages] == list(range(1, 501))


def test_bad_requested_header_values_count_as_absent():
    assert parse_requested_sequence_number("42") == 42
    for bad in (None, "", "abc", "-5", "1.5"):
        assert parse_requested_sequence_number(bad) is None
