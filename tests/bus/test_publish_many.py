"""Bus.publish_many: a run of messages on one topic, the same as publish for each, in order."""

from __future__ import annotations

import pytest
import trio

from mevbot.bus.bus import Bus
from mevbot.bus.journal import Journal
from mevbot.bus.settings import BusSettings

from .messages import Blob, Tick
from .test_links import linked_buses, wait_for


async def receive_n(sub, n):
    got = []
    with trio.fail_after(10):
        while len(got) < n:
            got.extend(await sub.receive_batch())
    return got


async def test_local_subscribers_get_the_run_in_order_each_with_its_own_id():
    bus = Bus(BusSettings(persist_path=""), process="p")
    first, second = bus.subscribe("market.#"), bus.subscribe("market.tick")
    envs = await bus.publish_many("market.tick", [Tick(i) for i in range(300)], source="scanner", trace_id=7)
    assert [e.payload.seq for e in envs] == list(range(300))
    assert len({e.id for e in envs}) == 300
    assert {(e.topic, e.tag, e.source, e.trace_id) for e in envs} == {("market.tick", "test.tick", "scanner", 7)}
    for sub in (first, second):
        assert [e.payload.seq for e in await receive_n(sub, 300)] == list(range(300))
    assert bus.published == 300


@pytest.mark.parametrize("kind", ["memory", "unix", "tcp"])
async def test_a_peer_gets_runs_and_single_publishes_interleaved_in_publish_order(kind):
    async with linked_buses(kind) as (a, b, _):
        on_b = b.subscribe("market.#")
        await wait_for(lambda: a.links["b"].wants("market.tick"))
        seq = 0
        for round_ in range(20):
            await a.publish_many("market.tick", [Tick(seq + i) for i in range(50)])
            seq += 50
            await a.publish("market.tick", Tick(seq))
            seq += 1
        got = await receive_n(on_b, seq)
        assert [e.payload.seq for e in got] == list(range(seq))
        assert a.links["b"].fast.sent >= seq


async def test_a_run_with_a_frame_too_large_for_the_fast_lane_goes_message_by_message():
    """Each message then takes the lane publish would give it: the large one the bulk lane."""
    async with linked_buses("unix", large_message_bytes=1024) as (a, b, _):
        on_b = b.subscribe("market.#")
        await wait_for(lambda: a.links["b"].wants("market.blob") and a.links["b"].bulk.connected)
        await a.publish_many("market.blob", [Blob(b"s"), Blob(b"L" * 4096), Blob(b"t")])
        got = await receive_n(on_b, 3)
        assert sorted(len(e.payload.data) for e in got) == [1, 1, 4096]
        assert a.links["b"].bulk.sent == 1 and a.links["b"].fast.sent >= 2


async def test_a_run_above_the_link_buffer_of_a_down_peer_is_dead_lettered_beyond_the_bound():
    bus = Bus(BusSettings(persist_path="", link_buffer=10), process="p")
    link = bus.link("gone", "unix", "/nonexistent")
    link.set_interest(["market.#"])
    await bus.publish_many("market.tick", [Tick(i) for i in range(25)])
    assert [env.payload.seq for env, _, _ in link.fast.out] == list(range(10))
    assert link.fast.dead_lettered == 15
    assert len(bus.dlq) == 15


async def test_a_critical_run_is_journalled_message_by_message_before_it_returns(tmp_path):
    journal = Journal(str(tmp_path / "a.sqlite"))
    bus = Bus(BusSettings(persist_path="", critical_topics=["exec.#"]), process="a", journal=journal)
    link = bus.link("b", "unix", "/nonexistent")
    link.set_interest(["exec.#"])
    envs = await bus.publish_many("exec.request", [Tick(i) for i in range(5)])
    assert journal.pending_count("b") == 5
    assert [bus.codec.decode(raw).id for raw in journal.pending("b")] == [e.id for e in envs]
