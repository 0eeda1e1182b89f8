"""SequenceTracker: which copy of a sequence number counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mevbot.feed.sequencing import FeedStats, SequenceTracker, Verdict

A, B = b"\xaa" * 32, b"\xbb" * 32


def test_consecutive_numbers_are_new_and_a_repeat_with_the_same_hash_is_a_duplicate():
    tracker = SequenceTracker()
    stats = FeedStats("ws://slow")
    assert tracker.observe(10, A, 100).verdict is Verdict.NEW
    assert tracker.observe(11, A, 200).verdict is Verdict.NEW
    assert tracker.observe(10, A, 350, stats).verdict is Verdict.DUPLICATE
    assert tracker.last_sequence_number == 11
    assert list(stats.lag_ns) == [250] and stats.duplicates == 1


def test_a_jump_ahead_reports_the_missing_range_and_a_late_copy_fills_it():
    tracker = SequenceTracker(5)
    arrival = tracker.observe(9, A, 0)
    assert arrival.verdict is Verdict.NEW and arrival.gap == (6, 8)
    assert tracker.missing == {6, 7, 8}
    assert tracker.observe(7, A, 1).verdict is Verdict.GAP_FILL
    assert tracker.observe(7, A, 2).verdict is Verdict.DUPLICATE
    assert tracker.missing == {6, 8} and tracker.last_sequence_number == 9


def test_a_repeat_with_another_hash_is_a_reorg_that_rewinds_the_watermark():
    tracker = SequenceTracker()
    for seq in range(1, 6):
        tracker.observe(seq, A, seq)
    arrival = tracker.observe(3, B, 10)
    assert arrival.verdict is Verdict.REORG and arrival.previous_hash == A
    assert tracker.last_sequence_number == 3
    assert tracker.observe(4, A, 11).verdict is Verdict.NEW  # later numbers count again
    assert tracker.observe(3, B, 12).verdict is Verdict.DUPLICATE
    assert tracker.reorgs == 1


def test_numbers_older_than_the_window_are_stale_and_memory_stays_bounded():
    tracker = SequenceTracker(window=8)
    for seq in range(100):
        tracker.observe(seq, A, seq)
    assert tracker.observe(3, A, 1000).verdict is Verdict.STALE
    assert len(tracker._recent) == 8
    tracker.observe(10_000, A, 0)  # a huge gap is reported but not remembered number by number
    assert len(tracker.missing) <= 8


def test_a_message_without_block_hash_is_matched_on_its_number_alone():
    tracker = SequenceTracker()
    tracker.observe(1, None, 0)
    assert tracker.observe(1, A, 1).verdict is Verdict.DUPLICATE


@given(st.lists(st.integers(0, 30), min_size=1, max_size=120))
def test_any_interleaving_of_copies_publishes_each_number_at_most_once(arrivals):
    """Two feeds, reconnect replays, out-of-order copies: without reorgs, each number is
    published at most once, and every number below the watermark never published was
    reported in a gap."""
    tracker = SequenceTracker()
    published: list[int] = []
    gaps: set[int] = set()
    for now, seq in enumerate(arrivals):
        arrival = tracker.observe(seq, seq.to_bytes(32, "big"), now)
        if arrival.gap:
            gaps.update(range(arrival.gap[0], arrival.gap[1] + 1))
        if arrival.publish:
            published.append(seq)
    assert len(published) == len(set(published))
    first = published[0]
    unpublished = set(range(first, tracker.last_sequence_number + 1)) - set(published)
    assert unpublished <= gaps
    assert tracker.last_sequence_number == max(arrivals)
