"""FeedClient against real trio-websocket servers serving the captured frames."""

from __future__ import annotations

import json
import logging

import pytest
import trio

from mevbot.feed.addresses import parse_address
from mevbot.feed.client import FeedClient
from mevbot.feed.errors import FeedDecodeError

from .conftest import SAMPLE_CHAIN_ID, SAMPLE_SIGNER
from .feed_server import SampleFeedServer, frame_sequence


class Recorder:
    """Collects published blocks; lets a test wait for a sequence number without sleeping."""

    def __init__(self) -> None:
        self.blocks = []
        self.gaps: list[tuple[int, int]] = []
        self.reorgs: list[tuple[int, bytes | None, bytes | None]] = []
        self._changed = trio.Event()

    async def on_block(self, block) -> None:
        self.blocks.append(block)
        self._changed.set()
        self._changed = trio.Event()

    async def on_gap(self, first: int, last: int) -> None:
        self.gaps.append((first, last))

    async def on_reorg(self, seq, old, new) -> None:
        self.reorgs.append((seq, old, new))

    @property
    def sequence_numbers(self) -> list[int]:
        return [b.sequence_number for b in self.blocks]

    async def wait_for(self, seq: int) -> None:
        while seq not in self.sequence_numbers:
            await self._changed.wait()


async def until(condition, timeout: float = 10.0) -> None:
    """Poll a real condition with a deadline (for counters the client keeps)."""
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.005)


@pytest.fixture
def message_frames(frame_lines) -> list[str]:
    return [line.decode() for line in frame_lines]


@pytest.fixture
def block_frames(message_frames) -> list[str]:
    """The frames that carry a message (not the confirmation-only one)."""
    return [f for f in message_frames if frame_sequence(f) is not None]


def _seqs(frames: list[str]) -> list[int]:
    return [s for s in map(frame_sequence, frames) if s is not None]


async def test_resume_after_server_restart_skips_and_repeats_no_sequence_number(nursery, message_frames):
    server = SampleFeedServer(message_frames, available=15)
    await server.start(nursery)
    recorder = Recorder()
    client = FeedClient([server.url], on_block=recorder.on_block, on_gap=recorder.on_gap, backoff_initial_s=0.01)
    await nursery.start(client.run)
    first_part = _seqs(message_frames[:15])
    with trio.fail_after(10):
        await recorder.wait_for(first_part[-1])

    server.kill()
    server.release(len(message_frames))
    await server.start(nursery)
    with trio.fail_after(10):
        await recorder.wait_for(_seqs(message_frames)[-1])

    assert recorder.sequence_numbers == _seqs(message_frames)  # every number once, in order
    assert server.requested == [None, first_part[-1]]  # resumed from the last seen, not one past it
    assert recorder.gaps == []
    stats = client.stats[server.url]
    assert stats.connects == 2 and stats.duplicates == 1  # the replayed last-seen message
    assert client.last_sequence_number == _seqs(message_frames)[-1]
    assert client.confirmed_sequence_number == 20542448
    assert all(len(b.transactions) > 0 and b.block_number == b.sequence_number for b in recorder.blocks)


async def test_two_feeds_fastest_copy_wins_and_the_rest_are_dropped_as_duplicates(nursery, message_frames):
    recorder = Recorder()
    fast = SampleFeedServer(message_frames)
    slow = SampleFeedServer(message_frames)

    async def after_the_fast_copy_is_published(seq):
        if seq is not None:
            await recorder.wait_for(seq)

    slow.before_send = after_the_fast_copy_is_published
    await fast.start(nursery)
    await slow.start(nursery)
    client = FeedClient([slow.url, fast.url], on_block=recorder.on_block)
    await nursery.start(client.run)
    seqs = _seqs(message_frames)
    await until(lambda: client.stats[slow.url].duplicates == len(seqs))

    assert recorder.sequence_numbers == seqs
    assert client.stats[fast.url].wins == len(seqs) and client.stats[fast.url].duplicates == 0
    assert client.stats[slow.url].wins == 0
    lag = client.stats[slow.url].lag_percentiles_us()
    assert lag["p50"] is not None and lag["p50"] > 0
    assert client.stats_summary()["feeds"][1]["wins"] == len(seqs)


async def test_a_missing_sequence_number_is_reported_as_a_gap_before_the_next_block(nursery, message_frames):
    seqs = _seqs(message_frames)
    holed = [f for f in message_frames if frame_sequence(f) != seqs[5]]
    server = SampleFeedServer(holed)
    await server.start(nursery)
    recorder = Recorder()
    client = FeedClient([server.url], on_block=recorder.on_block, on_gap=recorder.on_gap)
    await nursery.start(client.run)
    with trio.fail_after(10):
        await recorder.wait_for(seqs[-1])
    assert recorder.gaps == [(seqs[5], seqs[5])]
    assert recorder.sequence_numbers == seqs[:5] + seqs[6:]


async def test_a_resent_sequence_number_with_another_block_hash_is_a_reorg(nursery, block_frames):
    seqs = _seqs(block_frames)
    doc = json.loads(block_frames[3])
    doc["messages"][0]["blockHash"] = "0x" + "11" * 32
    frames = block_frames[:6] + [json.dumps(doc)] + block_frames[4:8]
    server = SampleFeedServer(frames)
    await server.start(nursery)
    recorder = Recorder()
    client = FeedClient([server.url], on_block=recorder.on_block, on_reorg=recorder.on_reorg)
    await nursery.start(client.run)
    await until(lambda: len(recorder.blocks) >= 10)
    reorged = seqs[3]
    assert [(s, new.hex()) for s, _, new in recorder.reorgs] == [(reorged, "11" * 32)]
    # after the reorg the later numbers are new again, then the stream goes on
    assert recorder.sequence_numbers == seqs[:6] + [reorged] + seqs[4:8]


async def test_signature_checks_drop_a_tampered_message_without_moving_the_watermark(nursery, block_frames, caplog):
    doc = json.loads(block_frames[5])
    doc["messages"][0]["message"]["delayedMessagesRead"] += 1
    frames = block_frames[:5] + [json.dumps(doc)]
    server = SampleFeedServer(frames)
    await server.start(nursery)
    recorder = Recorder()
    client = FeedClient([server.url], on_block=recorder.on_block, chain_id=SAMPLE_CHAIN_ID,
                        verify_signers=[parse_address(SAMPLE_SIGNER)])
    caplog.set_level(logging.WARNING, "mevbot.feed.client")
    await nursery.start(client.run)
    await until(lambda: client.stats[server.url].signature_rejections == 1)
    assert recorder.sequence_numbers == _seqs(frames[:5])
    assert client.last_sequence_number == _seqs(frames[:5])[-1]
    assert f"dropped message {_seqs(frames)[-1]}" in caplog.text


async def test_a_malformed_frame_is_counted_and_the_stream_goes_on(nursery, message_frames):
    frames = message_frames[:3] + ["{not json", '{"version":1,"messages":[{"sequenceNumber":"x"}]}'] + message_frames[3:6]
    server = SampleFeedServer(frames)
    await server.start(nursery)
    recorder = Recorder()
    client = FeedClient([server.url], on_block=recorder.on_block)
    await nursery.start(client.run)
    with trio.fail_after(10):
        await recorder.wait_for(_seqs(message_frames[:6])[-1])
    assert recorder.sequence_numbers == _seqs(message_frames[:6])
    assert client.stats[server.url].decode_errors == 2


async def test_blocks_can_go_to_a_trio_channel(nursery, message_frames):
    server = SampleFeedServer(message_frames[:3])
    await server.start(nursery)
    send, receive = trio.open_memory_channel(10)
    client = FeedClient([server.url], on_block=send)
    await nursery.start(client.run)
    with trio.fail_after(10):
        got = [(await receive.receive()).sequence_number for _ in range(3)]
    assert got == _seqs(message_frames[:3])


def test_signer_checks_without_a_chain_id_are_refused():
    with pytest.raises(ValueError, match="chain_id"):
        FeedClient(["ws://x"], on_block=lambda b: None, verify_signers=[bytes(20)])
    assert issubclass(FeedDecodeError, ValueError)


async def test_a_server_that_is_not_a_feed_is_retried_until_it_becomes_one(nursery, block_frames):
    """Garbage instead of an HTTP upgrade, then a plain HTTP reply, then a real feed on the same port."""
    answers = [b"\x00\x01garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"]
    served = trio.Event()

    async def impostor(stream: trio.SocketStream) -> None:
        if answers:
            await stream.send_all(answers.pop(0))
        if not answers:
            served.set()
        await stream.aclose()

    scope = trio.CancelScope()

    async def serve_impostor(task_status=trio.TASK_STATUS_IGNORED):
        with scope:
            await trio.serve_tcp(impostor, 0, host="127.0.0.1", task_status=task_status)

    listeners = await nursery.start(serve_impostor)
    port = listeners[0].socket.getsockname()[1]
    recorder = Recorder()
    client = FeedClient([f"ws://127.0.0.1:{port}/feed"], on_block=recorder.on_block, backoff_initial_s=0.01)
    await nursery.start(client.run)
    with trio.fail_after(10):
        await served.wait()
    scope.cancel()
    server = SampleFeedServer(block_frames[:2])
    server.port = port
    await server.start(nursery)
    with trio.fail_after(10):
        await recorder.wait_for(_seqs(block_frames[:2])[-1])
    assert client.stats[server.url].connects == 1 and client.stats[server.url].disconnects == 0


async def test_a_gap_another_feed_fills_late_is_not_published_twice_when_the_consumer_backfills(nursery, block_frames):
    seqs = _seqs(block_frames)
    missing = seqs[5]
    recorder = Recorder()
    holed = SampleFeedServer([f for f in block_frames[:8] if frame_sequence(f) != missing])
    late = SampleFeedServer([block_frames[5]])

    async def after_the_gap_is_seen(seq):
        await recorder.wait_for(seqs[6])

    late.before_send = after_the_gap_is_seen
    await holed.start(nursery)
    await late.start(nursery)
    client = FeedClient([holed.url, late.url], on_block=recorder.on_block, on_gap=recorder.on_gap)
    await nursery.start(client.run)
    await until(lambda: client.late_fills_dropped == 1)
    assert recorder.gaps == [(missing, missing)]
    assert missing not in recorder.sequence_numbers and recorder.sequence_numbers == seqs[:5] + seqs[6:8]

    without_hook = FeedClient(["ws://unused"], on_block=recorder.on_block)
    assert without_hook.publish_late_fills is True
