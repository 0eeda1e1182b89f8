"""End-to-end acknowledgement: a critical message from a peer is acknowledged once handled.

Two buses in this process over a real Unix socket; "a" publishes, "b" receives.
"""

from __future__ import annotations

import contextlib

import pytest
import trio
import trio.testing

from mevbot.bus.bus import Bus
from mevbot.bus.journal import Journal
from mevbot.bus.settings import BusSettings
from transports.unix import UnixTransport

from .messages import Tick
from .test_critical import wait_for


@contextlib.asynccontextmanager
async def linked(tmp_path):
    """``a`` connected to ``b``; each test subscribes at b and waits until a knows it."""
    settings = BusSettings(persist_path="", critical_topics=["exec.#"])
    a = Bus(settings, process="a", journal=Journal(str(tmp_path / "a.sqlite")))
    b = Bus(settings, process="b", journal=Journal(str(tmp_path / "b.sqlite")))
    address = str(tmp_path / "b.sock")
    async with trio.open_nursery() as nursery:
        await nursery.start(b.serve, UnixTransport(), address)
        nursery.start_soon(a.dial, "b", UnixTransport(), address)
        await wait_for(lambda: "b" in a.links and a.links["b"].fast.connected)
        yield a, b
        nursery.cancel_scope.cancel()


async def settle() -> None:
    """Every task blocked for 50 ms: an Ack that was going to cross the socket has crossed it."""
    await trio.testing.wait_all_tasks_blocked(0.05)


async def test_a_manual_subscription_keeps_a_critical_message_pending_at_its_publisher_until_acked(tmp_path):
    async with linked(tmp_path) as (a, b):
        sub = b.subscribe("exec.request", ack="manual")
        await wait_for(lambda: a.links["b"].wants("exec.request"))
        env = await a.publish("exec.request", Tick(1))
        with trio.fail_after(5):
            got = await sub.receive()
        assert got.id == env.id
        await settle()
        assert a.journal.pending_count("b") == 1 and a.links["b"].acked == 0
        assert not b.journal.seen(env.id)  # a restart of b would surface it again
        assert sub.stats()["unacked"] == 1

        sub.ack(got)
        await wait_for(lambda: a.journal.pending_count("b") == 0)
        assert b.journal.seen(env.id) and a.links["b"].acked == 1 and sub.unacked == 0


async def test_a_redelivery_of_a_message_queued_unhandled_is_neither_surfaced_nor_acknowledged(tmp_path):
    async with linked(tmp_path) as (a, b):
        sub = b.subscribe("exec.request", ack="manual")
        await wait_for(lambda: a.links["b"].wants("exec.request"))
        for _ in range(3):
            await a.publish("exec.request", Tick(7), message_id=777)
        await wait_for(lambda: b.duplicates == 2)
        await settle()
        assert sub.depth == 1 and a.journal.pending_count("b") == 1
        sub.ack(await sub.receive())
        await wait_for(lambda: a.journal.pending_count("b") == 0)
        await a.publish("exec.request", Tick(7), message_id=777)  # after handling: confirmed again
        await wait_for(lambda: b.duplicates == 3 and a.journal.pending_count("b") == 0)
        assert sub.depth == 0


async def test_a_critical_message_nobody_claims_yet_is_held_and_handed_to_the_next_subscription(tmp_path):
    async with linked(tmp_path) as (a, b):
        # a monitor that may drop messages sees it but does not count as handling it
        monitor = b.subscribe("exec.#", overflow="drop-oldest")
        await wait_for(lambda: a.links["b"].wants("exec.request"))
        sent = [await a.publish("exec.request", Tick(i)) for i in range(3)]
        await wait_for(lambda: b.handover.held == 3)
        await settle()
        assert monitor.depth == 3 and a.journal.pending_count("b") == 3

        late = b.subscribe("exec.request", ack="manual")  # the module, subscribing late
        assert [e.id for e in await late.receive_batch()] == [e.id for e in sent]
        assert b.handover.held == 0 and monitor.depth == 3  # not handed to the monitor twice
        await settle()
        assert a.journal.pending_count("b") == 3
        late.ack(*sent)
        await wait_for(lambda: a.journal.pending_count("b") == 0)


async def test_an_auto_subscription_made_later_claims_held_messages_at_once(tmp_path):
    async with linked(tmp_path) as (a, b):
        monitor = b.subscribe("exec.#", overflow="drop-oldest")
        await wait_for(lambda: a.links["b"].wants("exec.result"))
        await a.publish("exec.result", Tick(1))
        await wait_for(lambda: b.handover.held == 1)
        store = b.subscribe("exec.result", overflow="dead-letter")
        assert store.depth == 1 and b.handover.held == 0
        await wait_for(lambda: a.journal.pending_count("b") == 0)
        assert monitor.depth == 1


async def test_messages_a_closed_manual_subscription_never_acked_go_to_the_next_one(tmp_path):
    async with linked(tmp_path) as (a, b):
        first = b.subscribe("exec.request", ack="manual")
        await wait_for(lambda: a.links["b"].wants("exec.request"))
        sent = [await a.publish("exec.request", Tick(i)) for i in range(4)]
        await wait_for(lambda: first.depth == 4)
        taken = await first.receive_batch(max_items=2)
        first.ack(taken[0])  # handled one, took another and crashed on it, two still queued
        await wait_for(lambda: a.journal.pending_count("b") == 3)
        first.close()
        assert b.handover.held == 3
        second = b.subscribe("exec.request", ack="manual")  # the restarted module
        again = await second.receive_batch()
        assert [e.id for e in again] == [e.id for e in sent[1:]]
        second.ack(*again)
        await wait_for(lambda: a.journal.pending_count("b") == 0)
        assert not b.handover.entries


async def test_in_process_delivery_is_unchanged_and_its_ack_does_nothing(tmp_path):
    bus = Bus(BusSettings(persist_path="", critical_topics=["exec.#"]), process="solo",
              journal=Journal(str(tmp_path / "solo.sqlite")))
    sub = bus.subscribe("exec.request", ack="manual")
    env = await bus.publish("exec.request", Tick(1))
    got = await sub.receive()
    assert got is env  # the object itself, never serialised
    sub.ack(got)
    assert not bus.handover.entries and sub.unacked == 0 and bus.journal.pending_count() == 0


def test_ack_must_be_auto_or_manual():
    with pytest.raises(ValueError, match="ack must be 'auto' or 'manual'"):
        Bus(BusSettings(persist_path=""), process="x").subscribe("exec.request", ack="later")


async def test_while_modules_start_held_messages_wait_and_then_reach_every_subscription(tmp_path):
    """The bot gates the handover until all its modules have subscribed: a redelivered request
    goes to execution *and* the store, however they were ordered at start-up."""
    async with linked(tmp_path) as (a, b):
        b.handover.gated = True
        a.links["b"].set_interest(["exec.#"])  # as remembered from before b's restart
        envs = [await a.publish("exec.request", Tick(i)) for i in range(3)]
        await wait_for(lambda: len(b.handover.entries) == 3)
        store = b.subscribe("exec.#", name="store", ack="manual")  # the first module up
        await settle()
        assert store.depth == 0 and b.handover.held == 3  # not taken by the first one alone
        execution = b.subscribe("exec.request", name="execution", ack="manual")
        b.handover.open()
        for sub in (store, execution):
            with trio.fail_after(5):
                assert [env.id for env in await sub.receive_batch()] == [env.id for env in envs]
        await settle()
        assert a.journal.pending_count("b") == 3  # acknowledged only once both handled them
        store.ack(*envs)
        await settle()
        assert a.journal.pending_count("b") == 3
        execution.ack(*envs)
        await wait_for(lambda: a.journal.pending_count("b") == 0)
