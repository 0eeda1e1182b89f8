"""Two buses linked over every transport: remote pub/sub, request/reply, bad frames, lanes."""

from __future__ import annotations

import collections
import contextlib
import os
import tempfile

import pytest
import trio

from mevbot.bus.bus import Bus
from mevbot.bus.settings import BusSettings
from transports.memory import MemoryTransport
from transports.tcp import TcpTransport
from transports.errors import StreamClosed
from transports.unix import UnixTransport

from .messages import Blob, Tick

SECRET = b"0123456789abcdef-bus-test"


def transport_for(kind):
    if kind == "memory":
        return MemoryTransport(), f"bus-{os.getpid()}-{id(object())}"
    if kind == "unix":
        return UnixTransport(), os.path.join(tempfile.mkdtemp(prefix="mvb-"), "b.sock")
    return TcpTransport(SECRET), "127.0.0.1:0"


async def wait_for(condition, timeout=5.0):
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.005)  # polling a real condition with a deadline


@contextlib.asynccontextmanager
async def linked_buses(kind, **settings):
    """Bus 'a' dials bus 'b'; yields (a, b, transport) once a knows b's subscriptions."""
    a = Bus(BusSettings(persist_path="", **settings), process="a")
    b = Bus(BusSettings(persist_path="", **settings), process="b")
    transport, address = transport_for(kind)
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(b.serve, transport, address)
        nursery.start_soon(a.dial, "b", transport, bound)
        await wait_for(lambda: "a" in b.links and a.links["b"].lanes["fast"].connected)
        yield a, b, transport
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("kind", ["memory", "unix", "tcp"])
async def test_a_remote_subscriber_receives_in_order_in_both_directions(kind):
    async with linked_buses(kind) as (a, b, _):
        on_b = b.subscribe("market.#")
        on_a = a.subscribe("exec.result")
        await wait_for(lambda: a.links["b"].wants("market.swap") and b.links["a"].wants("exec.result"))
        for i in range(1000):
            await a.publish("market.swap", Tick(i, "x" * 90))
        await b.publish("exec.result", Tick(-1))
        got = []
        with trio.fail_after(5):
            while len(got) < 1000:
                got.extend(e.payload.seq for e in await on_b.receive_batch())
            assert (await on_a.receive()).payload == Tick(-1)
        assert got == list(range(1000))
        lane = a.links["b"].lanes["fast"]
        await wait_for(lambda: lane.sent >= 1000)  # the writer resumes after the last send_all
        assert lane.batches < 1000  # coalesced under load


@pytest.mark.parametrize("kind", ["memory", "unix"])
async def test_request_reply_crosses_processes(kind):
    async with linked_buses(kind) as (a, b, _):
        asks = b.subscribe("price.ask")
        await wait_for(lambda: a.links["b"].wants("price.ask"))
        async with trio.open_nursery() as nursery:
            async def responder():
                async for req in asks:
                    await b.reply(req, Tick(req.payload.seq + 1))
            nursery.start_soon(responder)
            reply = await a.request("price.ask", Tick(41), timeout_s=5)
            assert reply.payload == Tick(42) and reply.source == "b"
            nursery.cancel_scope.cancel()


async def test_an_undecodable_frame_is_dead_lettered_and_the_link_keeps_reading():
    async with linked_buses("unix") as (a, b, _):
        sub = b.subscribe("t")
        await wait_for(lambda: a.links["b"].wants("t"))
        stream = a.links["b"].lanes["fast"].stream
        await stream.send_batch([b"\xb5garbage that is not an envelope", b"\x00" * 80])
        await a.publish("t", Tick(7))
        with trio.fail_after(5):
            assert (await sub.receive()).payload == Tick(7)
        reasons = [letter.reason for letter in b.dlq.list()]
        assert len(reasons) == 2 and all(r.startswith("undecodable:") for r in reasons)
        assert b.dlq.list()[0].raw.startswith(b"\xb5garbage")


async def test_large_payloads_take_the_bulk_lane_and_small_ones_keep_the_fast_lane():
    async with linked_buses("unix", large_message_bytes=1024) as (a, b, _):
        sub = b.subscribe("#")
        await wait_for(lambda: a.links["b"].wants("x") and a.links["b"].lanes["bulk"].connected)
        await a.publish("x.big", Blob(bytes(100_000)))
        await a.publish("x.small", Tick(1))
        got = {}
        with trio.fail_after(5):
            while len(got) < 2:
                env = await sub.receive()
                got[env.topic] = env.payload
        assert got["x.big"] == Blob(bytes(100_000))
        lanes = a.links["b"].lanes
        assert lanes["bulk"].sent == 1 and lanes["fast"].sent >= 1


async def test_messages_for_a_down_peer_are_buffered_then_dead_lettered_past_the_bound():
    a = Bus(BusSettings(persist_path="", link_buffer=3), process="a")
    link = a.link("b", "unix", "/nonexistent")
    link.set_interest(["t"])  # known from an earlier connection
    for i in range(5):
        await a.publish("t", Tick(i))
    assert len(link.lanes["fast"].out) == 3
    assert [letter.envelope.payload.seq for letter in a.dlq.list()] == [3, 4]
    assert "buffer for peer 'b' full" in a.dlq.list()[0].reason


async def test_a_peer_opening_with_an_undecodable_frame_is_dead_lettered_and_refused():
    b = Bus(BusSettings(persist_path=""), process="b")
    transport, address = transport_for("unix")
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(b.serve, transport, address)
        stream = await transport.connect(bound)
        await stream.send_batch([b"\xb5 not a Hello"])
        with trio.fail_after(5), pytest.raises(StreamClosed):
            await stream.receive_batch()
        (letter,) = b.dlq.list()
        assert letter.reason.startswith("undecodable: ") and letter.origin.startswith("accept:")
        assert letter.raw == b"\xb5 not a Hello" and "a" not in b.links
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("topic", ["x.big", "exec.request"])
async def test_a_frame_above_max_frame_bytes_is_dead_lettered_at_the_publisher_not_sent(topic):
    async with linked_buses("unix", max_frame_bytes=2048) as (a, b, _):
        sub = b.subscribe("#")
        local = a.subscribe("#")
        await wait_for(lambda: a.links["b"].wants(topic))
        await a.publish(topic, Blob(bytes(4096)))
        await a.publish("x.small", Tick(1))
        with trio.fail_after(5):
            assert (await sub.receive()).payload == Tick(1)  # the link did not break
        (letter,) = a.dlq.list()
        assert "above max_frame_bytes (2048)" in letter.reason and "not sent to b" in letter.reason
        assert letter.envelope.topic == topic and letter.envelope.payload == Blob(bytes(4096))
        assert len(await local.receive_batch()) == 2  # in-process delivery is not affected
        assert a.links["b"].fast.sessions == 1 and b.dlq.list() == []


async def test_a_message_older_than_the_ttl_is_dead_lettered_as_expired_when_the_peer_comes_back():
    a = Bus(BusSettings(persist_path="", message_ttl_s=1.0), process="a")
    b = Bus(BusSettings(persist_path=""), process="b")
    sub = b.subscribe("t")
    a.link("b").set_interest(["t"])  # known from an earlier connection; b is down now
    stale = await a.publish("t", Tick(1))
    stale.created_ns -= 5_000_000_000  # as if it had waited 5 s for the peer
    await a.publish("t", Tick(2))
    transport, address = transport_for("unix")
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(b.serve, transport, address)
        nursery.start_soon(a.dial, "b", transport, bound)
        with trio.fail_after(5):
            assert (await sub.receive()).payload == Tick(2)
        (letter,) = a.dlq.list()
        assert letter.reason.startswith("expired: waited over 1.0 s for peer 'b'")
        assert letter.envelope is stale and a.links["b"].fast.dead_lettered == 1
        nursery.cancel_scope.cancel()


async def test_a_backed_up_fast_lane_fails_over_to_the_bulk_lane_and_nothing_is_lost():
    async with linked_buses("unix", failover_depth=5) as (a, b, _):
        sub = b.subscribe("t")
        link = a.links["b"]
        await wait_for(lambda: link.wants("t") and link.bulk.connected)
        for i in range(20):  # no yield between these: the fast lane's queue grows past 5
            await a.publish("t", Tick(i))
        got = set()
        with trio.fail_after(5):
            while len(got) < 20:
                got.update(env.payload.seq for env in await sub.receive_batch())
        assert got == set(range(20))
        assert link.failovers == 14 and link.bulk.sent == 14 and link.fast.max_queued == 6


async def test_a_lost_peer_is_redialled_with_doubling_backoff_up_to_the_cap(autojump_clock):
    a = Bus(BusSettings(persist_path="", reconnect_backoff_s=0.05, reconnect_backoff_max_s=0.4),
            process="a")
    attempts = []

    class CountingUnix(UnixTransport):
        async def connect(self, address):
            attempts.append(trio.current_time())
            return await super().connect(address)

    with trio.move_on_after(2.0):
        await a.dial("b", CountingUnix(), os.path.join(tempfile.mkdtemp(prefix="mvb-"), "none.sock"),
                     bulk=False)
    gaps = [round(later - earlier, 3) for earlier, later in zip(attempts, attempts[1:])]
    assert gaps[:6] == [0.05, 0.1, 0.2, 0.4, 0.4, 0.4]
    assert a.links["b"].connect_failures == len(attempts)


async def test_subscriptions_made_in_a_burst_reach_the_peer_newest_last():
    async with linked_buses("unix") as (a, b, _):
        subs = [b.subscribe(topic) for topic in ("x.one", "x.two", "x.three")]  # three Interests queued
        await wait_for(lambda: a.links["b"].patterns == tuple(b.local_patterns()))
        subs[0].close()
        subs[1].close()
        await wait_for(lambda: a.links["b"].patterns == tuple(b.local_patterns()))
        assert "x.three" in a.links["b"].patterns and "x.one" not in a.links["b"].patterns


class _CountingDeque(collections.deque):
    """A lane's queue that counts items put back at its front (taken by the writer, not sent)."""

    def __init__(self, items=()) -> None:
        super().__init__(items)
        self.put_back = 0

    def extendleft(self, items):
        items = list(items)
        self.put_back += len(items)
        super().extendleft(items)


async def test_a_write_takes_off_the_queue_only_the_frames_that_fit_in_max_batch_bytes():
    """A backed-up lane of ~1 KB frames under a 16 KiB write bound: each write takes what fits
    (judged by the first frame's size) instead of the whole queue, most of which went back."""
    async with linked_buses("unix", max_batch_bytes=16 * 1024) as (a, b, _):
        on_b = b.subscribe("market.swap", queue_size=5000)
        await wait_for(lambda: a.links["b"].wants("market.swap"))
        lane = a.links["b"].lanes["fast"]
        lane.out = queue = _CountingDeque(lane.out)
        batches_before, sent_before = lane.batches, lane.sent
        for i in range(2000):  # a yield every 128 publishes: the writer meets a queue of 100s
            await a.publish("market.swap", Tick(i, "x" * 900))
        got = []
        with trio.fail_after(10):
            while len(got) < 2000:
                got += await on_b.receive_batch()
        assert [env.payload.seq for env in got] == list(range(2000))
        writes, frames = lane.batches - batches_before, lane.sent - sent_before
        assert frames == 2000 and writes >= 2000 // 17  # none above the bound: ~1 KB each, 16 KiB
        assert lane.out is queue and queue.put_back == 0
