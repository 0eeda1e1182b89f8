"""The router picks memory / Unix / TCP from the placement, and the links it builds carry messages.

Two processes ('hot', 'warm') share host 'a'; 'cold' is on host 'b'. Host b is 127.0.0.1 too:
loopback stands in for the other machine, which this test environment does not have.
"""

from __future__ import annotations

import socket

import pytest
import trio

from mevbot.bus.bus import Bus
from mevbot.bus.errors import PlacementError
from mevbot.bus.router import plan_routes, transport_between_modules
from mevbot.bus.settings import BusSettings, DeploySettings, HostSettings, ProcessSettings

from .messages import Tick

SECRET = "router-test-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def placement(tmp_path, process="hot") -> DeploySettings:
    return DeploySettings(
        process=process, secret=SECRET,
        hosts={"a": HostSettings("127.0.0.1"), "b": HostSettings("127.0.0.1")},
        processes={
            "hot": ProcessSettings("a", ["monitor", "parser"], str(tmp_path / "hot.sock"),
                                   f"127.0.0.1:{free_port()}"),
            "warm": ProcessSettings("a", ["scanner"], str(tmp_path / "warm.sock"),
                                    f"127.0.0.1:{free_port()}"),
            "cold": ProcessSettings("b", ["execution"], "", f"127.0.0.1:{free_port()}"),
        })


def test_module_pairs_get_memory_unix_or_tcp_by_placement(tmp_path):
    deploy = placement(tmp_path)
    assert transport_between_modules(deploy, "monitor", "parser") == "memory"
    assert transport_between_modules(deploy, "parser", "scanner") == "unix"
    assert transport_between_modules(deploy, "scanner", "execution") == "tcp"
    routes = {r.peer: r for r in plan_routes(deploy)}
    assert (routes["warm"].transport, routes["warm"].dial) == ("unix", True)  # hot < warm dials
    assert (routes["cold"].transport, routes["cold"].dial) == ("tcp", False)  # cold < hot dials us
    assert "share host 'a'" in routes["warm"].reason


def test_an_inconsistent_placement_is_refused_with_every_problem_named(tmp_path):
    deploy = placement(tmp_path)
    bad = DeploySettings(process="x", secret="short", hosts=deploy.hosts, processes={
        **deploy.processes, "cold": ProcessSettings("nowhere", ["scanner"], "", "")})
    with pytest.raises(PlacementError) as info:
        plan_routes(bad)
    message = str(info.value)
    for part in ("'nowhere' is not a key", "'scanner' is already placed", "tcp: required",
                 "deploy.secret", "deploy.process: 'x'"):
        assert part in message


async def test_three_buses_link_over_unix_and_tcp_and_deliver_across_them(tmp_path):
    deploy = placement(tmp_path)
    buses = {name: Bus(BusSettings(persist_path=""), process=name,
                       deploy=placement_for(deploy, name)) for name in ("hot", "warm", "cold")}
    on_warm = buses["warm"].subscribe("market.#")
    on_cold = buses["cold"].subscribe("exec.request")
    async with trio.open_nursery() as nursery:
        for bus in buses.values():
            await nursery.start(bus.run)
        hot = buses["hot"]
        with trio.fail_after(10):
            while not (hot.links["warm"].wants("market.swap") and hot.links["cold"].wants("exec.request")):
                await trio.sleep(0.01)  # polling a real condition: links up, interest exchanged
        await hot.publish("market.swap", Tick(1), source="parser")
        await hot.publish("exec.request", Tick(2), source="scanner")
        with trio.fail_after(10):
            assert (await on_warm.receive()).payload == Tick(1)
            assert (await on_cold.receive()).payload == Tick(2)
        routes = {r["peer"]: r for r in hot.routes()}
        assert routes["hot"]["transport"] == "memory"
        assert routes["warm"]["transport"] == "unix" and routes["cold"]["transport"] == "tcp"
        assert routes["warm"]["lanes"]["fast"]["sent"] >= 1
        assert buses["warm"].links["cold"].transport == "tcp"
        nursery.cancel_scope.cancel()


def placement_for(deploy: DeploySettings, process: str) -> DeploySettings:
    import attrs
    return attrs.evolve(deploy, process=process)
