"""The bus's control commands (what `mevbot ctl dlq ...` and `ctl routes` receive)."""

from __future__ import annotations

import pytest

from mevbot.bus.bus import Bus
from mevbot.bus.control import control_handlers
from mevbot.bus.errors import BusError
from mevbot.bus.settings import BusSettings

from .messages import Tick


async def test_dlq_list_replay_and_purge_by_number_and_topic():
    bus = Bus(BusSettings(persist_path=""), process="p")
    sub = bus.subscribe("t.#", queue_size=1, overflow="dead-letter")
    for i in range(3):
        await bus.publish("t.a" if i < 2 else "t.b", Tick(i))
    bus.dlq.add("undecodable: test", raw=b"\x00garbage", origin="link:x")
    h = control_handlers(bus)
    listed = await h["dlq.list"]({"limit": 50})
    assert [letter["topic"] for letter in listed["letters"]] == ["t.a", "t.b", None]
    assert listed["letters"][2]["replayable"] is False and listed["stats"]["queued"] == 3
    assert (await h["dlq-list"]({"topic": "t.b"}))["letters"][0]["topic"] == "t.b"
    await sub.receive()
    replayed = await h["dlq.replay"]({"ids": [listed["letters"][0]["seq"]]})
    assert replayed["count"] == 1 and (await sub.receive()).payload == Tick(1)
    assert (await h["dlq.purge"]({}))["purged"] == 2
    with pytest.raises(BusError, match="ids"):
        await h["dlq.replay"]({"ids": "all"})


async def test_routes_shows_the_local_route_with_subscription_counters():
    bus = Bus(BusSettings(persist_path=""), process="p")
    bus.subscribe("market.#", name="scanner")
    await bus.publish("market.x", Tick(1))
    reply = await control_handlers(bus)["routes"]({})
    local = reply["routes"][0]
    assert local["transport"] == "memory" and local["subscriptions"][0]["name"] == "scanner"
    assert reply["stats"]["published"] == 1
