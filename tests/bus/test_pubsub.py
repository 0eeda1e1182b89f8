"""Local publish/subscribe, overflow policies, request/reply and the dead letter queue."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from mevbot.bus.bus import Bus
from mevbot.bus.errors import NoResponder, RegistrationError, RequestTimeout, TopicError
from mevbot.bus.settings import BusSettings

from .messages import Tick


def make_bus(**settings) -> Bus:
    return Bus(BusSettings(persist_path="", **settings), process="main")


async def test_wildcard_subscribers_get_the_same_object_with_full_metadata():
    bus = make_bus()
    exact = bus.subscribe("market.swap.intent")
    star = bus.subscribe("market.swap.*")
    hash_ = bus.subscribe("market.#")
    other = bus.subscribe("exec.#")
    payload = Tick(1)
    env = await bus.publish("market.swap.intent", payload, source="parser", trace_id=77)
    for sub in (exact, star, hash_):
        got = await sub.receive()
        assert got is env and got.payload is payload  # in-process: never serialised
    assert other.depth == 0
    assert (env.topic, env.tag, env.version, env.source, env.trace_id) == \
        ("market.swap.intent", "test.tick", 1, "parser", 77)
    assert env.id and env.created_ns > 0


async def test_messages_from_one_publisher_arrive_in_order_in_batches():
    bus = make_bus()
    sub = bus.subscribe("t.#")
    for i in range(500):
        await bus.publish("t.x", Tick(i))
    got = []
    while len(got) < 500:
        got.extend(e.payload.seq for e in await sub.receive_batch(100))
    assert got == list(range(500))


async def test_block_policy_backpressures_the_publisher_until_the_consumer_reads():
    bus = make_bus()
    sub = bus.subscribe("t", queue_size=2, overflow="block")
    done = trio.Event()

    async def publish_three():
        for i in range(3):
            await bus.publish("t", Tick(i))
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(publish_three)
        await trio.testing.wait_all_tasks_blocked()
        assert sub.depth == 2 and not done.is_set()
        assert (await sub.receive()).payload.seq == 0
        await done.wait()
    assert [e.payload.seq for e in await sub.receive_batch()] == [1, 2]


async def test_drop_oldest_keeps_the_newest_and_counts_drops():
    bus = make_bus()
    sub = bus.subscribe("t", queue_size=3, overflow="drop-oldest")
    for i in range(10):
        await bus.publish("t", Tick(i))
    assert [e.payload.seq for e in await sub.receive_batch()] == [7, 8, 9]
    assert sub.dropped == 7 and bus.stats()["dropped"] == 7


async def test_dead_letter_policy_sends_overflow_to_the_dlq_with_a_reason_and_replay_works():
    bus = make_bus()
    sub = bus.subscribe("t", queue_size=2, overflow="dead-letter", name="slow-scanner")
    for i in range(5):
        await bus.publish("t", Tick(i))
    letters = bus.dlq.list()
    assert [letter.envelope.payload.seq for letter in letters] == [2, 3, 4]
    assert "slow-scanner" in letters[0].reason and "full" in letters[0].reason
    assert [e.payload.seq for e in await sub.receive_batch()] == [0, 1]
    replayed = await bus.replay([letters[0].seq])
    assert len(replayed) == 1 and len(bus.dlq) == 2
    assert (await sub.receive()).payload.seq == 2
    assert bus.dlq.purge() == 2 and len(bus.dlq) == 0


async def test_closing_a_subscription_stops_delivery_and_ends_iteration():
    bus = make_bus()
    with bus.subscribe("t") as sub:
        await bus.publish("t", Tick(1))
    await bus.publish("t", Tick(2))
    assert [e.payload.seq async for e in sub] == [1]


async def test_request_gets_the_reply_and_times_out_without_one():
    bus = make_bus()
    requests = bus.subscribe("price.ask")

    async def responder():
        async for req in requests:
            await bus.reply(req, Tick(req.payload.seq * 2), source="pricing")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(responder)
        reply = await bus.request("price.ask", Tick(21), timeout_s=5)
        assert reply.payload == Tick(42) and reply.source == "pricing"
        requests.close()
        with pytest.raises(NoResponder):
            await bus.request("price.ask", Tick(1))
        silent = bus.subscribe("price.silent")
        with pytest.raises(RequestTimeout, match="no reply within 0.05"):
            await bus.request("price.silent", Tick(1), timeout_s=0.05)
        silent.close()


async def test_bad_topics_and_unregistered_payloads_are_refused_with_typed_errors():
    bus = make_bus()
    with pytest.raises(TopicError):
        await bus.publish("market.*", Tick(1))
    with pytest.raises(RegistrationError, match="not a registered message class"):
        await bus.publish("market.x", object())
    with pytest.raises(TopicError):
        bus.subscribe("a..b")


@pytest.mark.parametrize("policy", ["block", "drop-oldest", "dead-letter"])
async def test_a_run_from_a_peer_meets_each_policy_exactly_as_one_by_one_offers_do(policy):
    """Bus.deliver_remote_many (what a link reader uses) against per-message Subscription.offer."""
    one_by_one, as_a_run = make_bus(), make_bus()
    subs = [bus.subscribe("t", queue_size=4, overflow=policy) for bus in (one_by_one, as_a_run)]
    await one_by_one.publish("t", Tick(-1))
    await as_a_run.publish("t", Tick(-1))
    envs = [(await one_by_one.publish("x", Tick(i))) for i in range(7)]  # no subscriber on x
    for env in envs:
        subs[0].offer(env)
    with trio.move_on_after(0.5) as blocked:  # under block, the run waits for room like put()
        await as_a_run.deliver_remote_many("t", envs)
    assert blocked.cancelled_caught == (policy == "block")
    queued = [[e.payload.seq for e in await sub.receive_batch()] for sub in subs]
    assert queued[0] == queued[1]
    assert (subs[0].dropped, subs[0].dead_lettered) == (subs[1].dropped, subs[1].dead_lettered)
    assert [letter.envelope.payload.seq for letter in as_a_run.dlq.list()] == (
        [3, 4, 5, 6] if policy == "dead-letter" else [])
