"""eth_subscribe over a real WebSocket to anvil, including a node restart."""

from __future__ import annotations

import json

import pytest
import trio
from trio_websocket import serve_websocket

from mevbot.rpc.chaindata import read_block_head, read_log
from mevbot.rpc.client import RpcClient
from mevbot.rpc.errors import SubscriptionError
from mevbot.rpc.subscriptions import open_subscription
from tests.rpc.contracts import DEPOSIT_TOPIC, deploy_weth9, deposit

DEADLINE_S = 10.0


async def test_new_heads_arrive_for_every_mined_block(anvil):
    async with RpcClient([anvil.url]) as rpc, open_subscription(anvil.ws_url, "newHeads") as heads:
        await heads.wait_subscribed()
        await rpc.call("anvil_mine", ["0x3"])
        with trio.fail_after(DEADLINE_S):
            numbers = [read_block_head(await heads.__anext__()).number for _ in range(3)]
    assert numbers == [1, 2, 3]


async def test_logs_subscription_delivers_the_watched_contract_events(anvil):
    async with RpcClient([anvil.url]) as rpc:
        weth = await deploy_weth9(rpc)
        async with open_subscription(anvil.ws_url, "logs", {"address": weth}) as logs:
            await logs.wait_subscribed()
            await deposit(rpc, weth, 10**18)
            with trio.fail_after(DEADLINE_S):
                entry = read_log(await logs.__anext__())
    assert entry.address == weth.lower()
    assert entry.topics[0] == DEPOSIT_TOPIC
    assert int.from_bytes(entry.data, "big") == 10**18


async def test_subscription_resumes_after_the_node_restarts(anvil_factory):
    node = anvil_factory()
    subscribed_again = trio.Event()
    subscriptions = 0

    async def on_subscribed() -> None:
        nonlocal subscriptions
        subscriptions += 1
        if subscriptions == 2:
            subscribed_again.set()

    async with open_subscription(node.ws_url, "newHeads", reconnect_s=0.05,
                                 on_subscribed=on_subscribed) as heads:
        await heads.wait_subscribed()
        await trio.to_thread.run_sync(node.stop)
        restarted = anvil_factory(port=node.port)
        with trio.fail_after(DEADLINE_S):
            await subscribed_again.wait()
        assert heads.reconnects >= 1 and heads.is_subscribed
        async with RpcClient([restarted.url]) as rpc:
            await rpc.call("anvil_mine", ["0x1"])
        with trio.fail_after(DEADLINE_S):
            assert read_block_head(await heads.__anext__()).number == 1


async def test_a_subscription_the_node_refuses_raises_subscription_error(anvil):
    with pytest.raises(SubscriptionError, match="no_such_kind"):
        async with open_subscription(anvil.ws_url, "no_such_kind") as bogus:
            with trio.fail_after(DEADLINE_S):
                await bogus.wait_subscribed()


async def test_garbage_and_foreign_notifications_are_skipped_and_counted(nursery):
    # anvil only sends well-formed messages: a real WebSocket server of ours sends the rest.
    async def handler(request) -> None:
        ws = await request.accept()
        subscribe = json.loads(await ws.get_message())
        await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": subscribe["id"], "result": "0xabc"}))
        await ws.send_message("this is not json")
        await ws.send_message(json.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                                          "params": {"subscription": "0xother", "result": 1}}))
        await ws.send_message(json.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                                          "params": {"subscription": "0xabc", "result": 2}}))
        await trio.sleep_forever()

    server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
    async with open_subscription(f"ws://127.0.0.1:{server.port}", "newHeads") as heads:
        with trio.fail_after(DEADLINE_S):
            assert await heads.__anext__() == 2
        assert heads.malformed_messages == 1
        assert heads.subscription_id == "0xabc"
