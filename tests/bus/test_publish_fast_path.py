"""Bus.publish's fast path packs a frame itself: it must be the codec's frame of that envelope."""

from __future__ import annotations

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.bus.bus import Bus
from mevbot.bus.envelope import make_envelope
from mevbot.bus.errors import TopicError
from mevbot.bus.settings import BusSettings

from .messages import Quote, Tick


def _bus_with_a_peer(*patterns: str, **settings) -> tuple[Bus, object]:
    bus = Bus(BusSettings(persist_path="", **settings), process="scanner")
    link = bus.link("peer", "unix")
    link.set_interest(list(patterns))  # no connection: its fast lane queues what is published
    return bus, link


@settings(max_examples=60, deadline=None)
@given(seqs=st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=8),
       amounts=st.lists(st.integers(0, 2**256 - 1), max_size=3),
       traces=st.lists(st.integers(0, 2**128 - 1), min_size=1, max_size=4))
def test_the_frames_publish_queues_are_the_codecs_frames_of_their_envelopes(seqs, amounts, traces):
    """Binary-layout and JSON types, fresh and inherited traces: each queued frame is exactly
    Codec.encode of its envelope and decodes back to it."""
    bus, link = _bus_with_a_peer("market.#")
    payloads = [Tick(s) for s in seqs] + [Quote(b"p" * 20, a, a // 2, 1) for a in amounts]

    async def publish_all():
        sent = []
        for i, payload in enumerate(payloads):
            sent.append(await bus.publish("market.mixed", payload, trace_id=traces[i % len(traces)]))
        return sent

    sent = trio.run(publish_all)
    queued = list(link.fast.out)
    assert [env for env, _, _ in queued] == sent
    for env, frame, critical in queued:
        assert not critical
        assert frame == bus.codec.encode(env)
        assert bus.codec.decode(frame) == env
    assert [env.trace_id for env in sent[1:]] == [traces[i % len(traces)] or sent[i].id
                                                  for i in range(1, len(sent))]


@settings(max_examples=40, deadline=None)
@given(kinds=st.lists(st.sampled_from(["tick", "quote"]), min_size=1, max_size=12), peers=st.sampled_from([1, 2]))
def test_types_interleaved_on_one_topic_reach_every_peer_and_subscriber_as_the_codec_frames(kinds, peers):
    """publish keeps the plan of the type it sent last on a route: switching types back and
    forth, with one peer link (its own branch) or two (the run path), each peer's queue holds
    exactly the codec's frames of what was published, in order, and a local subscriber gets it
    all too."""
    bus = Bus(BusSettings(persist_path=""), process="scanner")
    links = [bus.link(f"peer{i}", "unix") for i in range(peers)]
    for link in links:
        link.set_interest(["market.#"])
    sub = bus.subscribe("market.mixed")

    async def publish_all():
        return [await bus.publish("market.mixed", Tick(i) if kind == "tick" else Quote(b"q" * 20, i, 1, 2))
                for i, kind in enumerate(kinds)]

    sent = trio.run(publish_all)
    assert [env.tag for env in sent] == ["test.tick" if kind == "tick" else "test.quote" for kind in kinds]
    for link in links:
        assert [env for env, _, _ in link.fast.out] == sent
        assert [frame for _, frame, _ in link.fast.out] == [bus.codec.encode(env) for env in sent]
    assert list(sub._items) == sent


async def test_a_topic_routed_by_publish_envelope_is_still_validated_by_publish():
    """publish skips its topic check only on a route whose last plan it made itself, after the
    check: a route publish_envelope made (a dead letter replayed, say) does not count."""
    bus, _ = _bus_with_a_peer("market.#")
    await bus.publish_envelope(make_envelope("market..bad", Tick(1), "test.tick", 1, "scanner"))
    with pytest.raises(TopicError):
        await bus.publish("market..bad", Tick(2))
    with pytest.raises(TopicError):
        await bus.publish("market..bad", Tick(3))


async def test_a_link_that_starts_wanting_a_topic_gets_the_next_publish_on_it():
    """publish's plan is memoised per route; interest changing drops it with the route."""
    bus, first = _bus_with_a_peer("market.#")
    second = bus.link("other", "unix")
    await bus.publish("market.tick", Tick(1))
    assert len(first.fast.out) == 1 and not second.fast.out
    second.set_interest(["market.tick"])
    await bus.publish("market.tick", Tick(2))
    assert [env.payload for env, _, _ in second.fast.out] == [Tick(2)]
    assert [env.payload for env, _, _ in first.fast.out] == [Tick(1), Tick(2)]
    first.set_interest([])
    await bus.publish("market.tick", Tick(3))
    assert len(first.fast.out) == 2 and len(second.fast.out) == 2


async def test_a_full_lane_and_another_source_take_the_general_path_with_the_same_result():
    bus, link = _bus_with_a_peer("market.#", link_buffer=2)  # a down peer's bound: 2
    await bus.publish("market.tick", Tick(1))
    env = await bus.publish("market.tick", Tick(2), source="replayer")
    assert env.source == "replayer"
    assert link.fast.out[-1][1] == bus.codec.encode(env)
    await bus.publish("market.tick", Tick(3))
    assert len(link.fast.out) == 2
    assert [letter.reason for letter in bus.dlq.list()][-1].startswith("undeliverable")


async def test_max_queued_counts_what_a_down_peer_is_holding_and_keeps_the_peak():
    """max_queued is no longer bumped per message: the length now, or at the last take."""
    bus, link = _bus_with_a_peer("market.#")
    for i in range(3):
        await bus.publish("market.tick", Tick(i))
    await bus.publish_many("market.tick", [Tick(3), Tick(4)])
    assert link.fast.max_queued == 5 and link.fast.stats()["max_queued"] == 5
    link.fast._max_taken = len(link.fast.out)  # what the writer notes as it takes the batch
    link.fast.out.clear()
    assert link.fast.max_queued == 5
