"""Two buses linked over every transport: remote pub/sub, request/reply, bad frames, lanes."""

from __future__ import annotations

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
