"""The bus's control commands (what `mevbot ctl dlq ...` and `ctl routes` receive)."""

from __future__ import annotations

import pytest

from mevbot.bus.bus import Bus
from mevbot.bus.control import COMMANDS, control_handlers, register_control_commands
from mevbot.bus.settings import BusSettings
from mevbot.cli.ctl import _render
from mevbot.control.errors import CommandFailed
from mevbot.control.server import ControlServer

from .messages import Tick


async def test_dlq_list_replay_and_purge_by_number_and_topic():
    bus = Bus(BusSettings(persist_path=""), process="p")
    sub = bus.subscribe("t.#", queue_size=1, overflow="dead-letter")
    for i in range(3):
        await bus.publish("t.a" if i < 2 else "t.b", Tick(i))
    bus.dlq.add("undecodable: test", raw=b"\x00garbage", origin="link:x")
    h = control_handlers(bus)
    listed = await h["dlq-list"]({"limit": 50})
    assert [letter["topic"] for letter in listed["letters"]] == ["t.a", "t.b", None]
    assert listed["letters"][2]["replayable"] is False and listed["stats"]["queued"] == 3
    assert (await h["dlq-list"]({"topic": "t.b"}))["letters"][0]["topic"] == "t.b"
    assert (await h["dlq-list"]({"limit": 1}))["matching"] == 3
    await sub.receive()
    replayed = await h["dlq-replay"]({"ids": [listed["letters"][0]["seq"]]})
    assert replayed["count"] == 1 and (await sub.receive()).payload == Tick(1)
    everything = await h["dlq-replay"]({})
    assert everything["count"] == 1 and everything["not_replayable"] == [listed["letters"][2]["seq"]]
    assert (await h["dlq-purge"]({}))["purged"] == 1


@pytest.mark.parametrize("args, problem", [({"ids": "all"}, "'ids'"), ({"ids": [True]}, "'ids'"),
                                           ({"topic": 3}, "'topic'"), ({"limit": -1}, "'limit'")])
async def test_malformed_arguments_are_refused_with_a_command_failure(args, problem):
    bus = Bus(BusSettings(persist_path=""), process="p")
    handler = control_handlers(bus)["dlq-list" if "limit" in args else "dlq-replay"]
    with pytest.raises(CommandFailed, match=problem):
        await handler(args)


async def test_the_control_server_answers_the_names_ctl_sends():
    bus = Bus(BusSettings(persist_path=""), process="p")
    server = ControlServer("/nonexistent/never-bound.sock")
    register_control_commands(server, bus)
    assert set(COMMANDS) <= set(server.commands)
    reply = await server.answer(b'{"cmd": "dlq-replay", "args": {"ids": "x"}}')
    assert reply["ok"] is False and "'ids' must be a list" in reply["error"]
    reply = await server.answer(b'{"cmd": "dlq-list", "args": {}}')
    assert reply["ok"] is True and reply["letters"] == []


async def test_routes_shows_the_local_route_with_subscription_counters():
    bus = Bus(BusSettings(persist_path=""), process="p")
    bus.subscribe("market.#", name="scanner", queue_size=1, overflow="drop-oldest")
    await bus.publish("market.x", Tick(1))
    await bus.publish("market.x", Tick(2))
    reply = await control_handlers(bus)["routes"]({})
    local = reply["routes"][0]
    assert local["transport"] == "memory" and local["subscriptions"][0]["name"] == "scanner"
    assert reply["stats"]["published"] == 2 and reply["stats"]["dropped"] == 1
    text = _render("routes", {"ok": True, **reply})
    assert "process p: 2 published" in text
    row = next(line for line in text.splitlines() if line.startswith("scanner"))
    assert row.split() == ["scanner", "market.#", "drop-oldest", "1/1", "1", "0", "1", "0"]
