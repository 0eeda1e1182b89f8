"""The monitoring websocket ([deploy] websocket): read-only bus peers for dashboards and tools."""

from __future__ import annotations

import pytest
import trio
import trio_websocket

from mevbot.bus.bus import Bus
from mevbot.bus.codec import Codec
from mevbot.bus.envelope import make_envelope
from mevbot.bus.protocol import LINK_TOPIC, Hello
from mevbot.bus.registry import MESSAGES
from mevbot.bus.settings import BusSettings, DeploySettings
from transports.errors import ConnectFailed
from transports.websocket import WebSocketTransport

from .messages import Tick
from .test_links import wait_for

codec = Codec()


def frame(topic: str, payload) -> bytes:
    entry = MESSAGES.for_class(type(payload))
    return codec.encode(make_envelope(topic, payload, entry.tag, entry.version, "dash"))


async def test_a_monitoring_client_gets_what_it_subscribes_to_and_may_not_publish():
    bus = Bus(BusSettings(persist_path=""), process="main",
              deploy=DeploySettings(websocket="127.0.0.1:0"))
    local = bus.subscribe("market.#", name="scanner")
    with trio.fail_after(20):
        await monitoring_session(bus, local)


async def monitoring_session(bus, local):
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        client = await WebSocketTransport(nursery).connect(bus.monitor_address)
        await client.send_batch([frame(LINK_TOPIC, Hello("dash", "fast", ["market.#", "exec.#"]))])
        with trio.fail_after(5):
            hello = codec.decode((await client.receive_batch())[0]).payload
        assert hello.process == "main"
        await wait_for(lambda: "monitor:dash" in bus.links and bus.links["monitor:dash"].wants("market.x"))
        link = bus.links["monitor:dash"]
        assert link.read_only and "dash" not in bus.links

        await bus.publish("market.x", Tick(1))
        await bus.publish("exec.request", Tick(2))  # critical: sent, but never journalled for it
        await bus.publish("risk.x", Tick(3))  # not subscribed
        got = []
        with trio.fail_after(5):
            while len(got) < 2:
                got += [codec.decode(f) for f in await client.receive_batch()]
        assert [(env.topic, env.payload) for env in got] == [("market.x", Tick(1)), ("exec.request", Tick(2))]

        await client.send_batch([frame("market.fake", Tick(666))])  # a monitor tries to publish
        await wait_for(lambda: link.fast.refused == 1)
        await bus.publish("market.y", Tick(4))
        assert [env.payload for env in await local.receive_batch()] == [Tick(1), Tick(4)]
        assert bus.routes()[-1]["read_only"] is True

        await client.aclose()
        await wait_for(lambda: "monitor:dash" not in bus.links)  # nothing buffers for it now
        await bus.publish("market.z", Tick(5))
        assert bus.dlq.list() == []
        nursery.cancel_scope.cancel()


async def test_a_monitoring_client_cannot_take_over_a_peer_process_name():
    bus = Bus(BusSettings(persist_path=""), process="main",
              deploy=DeploySettings(websocket="127.0.0.1:0"))
    bus.link("monitor:hot", "unix", "x")  # a peer process of that (odd) name from the placement
    with trio.fail_after(20):
        await impostor_session(bus)


async def impostor_session(bus):
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        client = await WebSocketTransport(nursery).connect(bus.monitor_address)
        await client.send_batch([frame(LINK_TOPIC, Hello("hot", "fast", ["#"]))])
        with trio.fail_after(5):
            try:
                while True:
                    await client.receive_batch()
            except Exception as exc:  # the bus closed the websocket: StreamClosed
                assert type(exc).__name__ == "StreamClosed"
        assert not bus.links["monitor:hot"].read_only and not bus.links["monitor:hot"].fast.connected
        nursery.cancel_scope.cancel()


async def test_with_a_token_only_a_client_presenting_it_is_served():
    bus = Bus(BusSettings(persist_path=""), process="main",
              deploy=DeploySettings(websocket="127.0.0.1:0", websocket_token="s3cret-token"))
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(bus.run)
            for token in ("", "wrong-token"):
                with pytest.raises(ConnectFailed, match="401"):
                    await WebSocketTransport(nursery, token=token).connect(bus.monitor_address)
            assert not any(name.startswith("monitor:") for name in bus.links)
            # a browser cannot set headers: the token in the URL's query works too
            browser = await trio_websocket.connect_websocket_url(
                nursery, f"ws://{bus.monitor_address}/bus?token=s3cret-token")
            await browser.aclose()
            client = await WebSocketTransport(nursery, token="s3cret-token").connect(bus.monitor_address)
            await client.send_batch([frame(LINK_TOPIC, Hello("dash", "fast", ["market.#"]))])
            await wait_for(lambda: "monitor:dash" in bus.links and bus.links["monitor:dash"].wants("market.x"))
            await bus.publish("market.x", Tick(7))
            with trio.fail_after(5):
                got = []
                while not got:
                    got = [codec.decode(f) for f in await client.receive_batch()
                           if codec.decode(f).topic == "market.x"]
            assert got[0].payload == Tick(7)
            await client.aclose()
            nursery.cancel_scope.cancel()


def test_a_websocket_beyond_loopback_without_a_token_is_a_config_problem():
    from mevbot.config.convert import cross_key_problems

    bare = DeploySettings(websocket="0.0.0.0:9000")
    assert [(path, expected.split(",")[0]) for path, _, expected in cross_key_problems(bare)] == [
        (("websocket_token",), "a token")]
    assert cross_key_problems(DeploySettings(websocket="127.0.0.1:9000")) == []
    assert cross_key_problems(DeploySettings(websocket="0.0.0.0:9000", websocket_token="t")) == []
