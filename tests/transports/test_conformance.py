"""Every transport honours the contract in transports/base.py (one suite, all transports)."""

from __future__ import annotations

import trio
import trio.testing

import pytest

from transports.errors import StreamClosed

from .conftest import open_pair


def frame(i: int, size: int = 100) -> bytes:
    return i.to_bytes(4, "little") + bytes(size - 4)


async def receive_n(stream, n):
    got = []
    while len(got) < n:
        got.extend(await stream.receive_batch())
    return got


async def test_frames_from_one_sender_arrive_in_order_across_batches(transport_kind):
    async with open_pair(transport_kind) as (_, _, client, server):
        expected = [frame(i) for i in range(2000)]
        async with trio.open_nursery() as nursery:
            async def sender():
                i = 0
                for size in [1, 7, 300, 1, 1000, 691]:
                    await client.send_batch(expected[i:i + size])
                    i += size
            nursery.start_soon(sender)
            got = await receive_n(server, len(expected))
        assert got == expected


async def test_single_frame_is_delivered_without_waiting_for_more(transport_kind):
    async with open_pair(transport_kind) as (_, _, client, server):
        await client.send(frame(1))
        with trio.fail_after(5):
            assert await server.receive_batch() == [frame(1)]


async def test_a_large_frame_survives_intact_both_ways(transport_kind):
    async with open_pair(transport_kind) as (_, _, client, server):
        big = bytes(range(256)) * (3 * 1024 * 1024 // 256)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.send, big)
            assert await receive_n(server, 1) == [big]
        await server.send(big[:1000])
        assert await receive_n(client, 1) == [big[:1000]]


async def test_a_sender_blocks_while_the_receiver_does_not_read(transport_kind):
    async with open_pair(transport_kind) as (_, _, client, server):
        chunk = [bytes(64 * 1024)]
        done = trio.Event()
        sent = 0

        async def flood():
            nonlocal sent
            for _ in range(1024):  # 64 MiB: more than any kernel or channel buffer holds
                await client.send_batch(chunk)
                sent += 1
            done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(flood)
            with trio.fail_after(10):
                while sent == 0:
                    await trio.sleep(0.01)  # polling a real condition: the first batch has left
            await trio.testing.wait_all_tasks_blocked(0.05)
            assert not done.is_set()  # backpressure: stuck on a full buffer, not dropping
            received = 0
            while received < 1024:
                received += len(await server.receive_batch())
            await done.wait()


async def test_closing_one_end_ends_the_peers_stream_and_close_is_idempotent(transport_kind):
    async with open_pair(transport_kind) as (_, _, client, server):
        await client.send(frame(9))
        await client.aclose()
        await client.aclose()
        with trio.fail_after(5):
            assert await receive_n(server, 1) == [frame(9)]
            with pytest.raises(StreamClosed):
                while True:
                    await server.receive_batch()
        with pytest.raises(StreamClosed):
            await client.send(frame(1))
