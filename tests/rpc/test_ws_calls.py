"""JSON-RPC calls over one WebSocket (WsCalls) against real anvil nodes: answers by id, batches,
unsent while down (RpcClient: HTTP then), a drop mid-call, a node restart, and garbage from a server."""

from __future__ import annotations

import json

import pytest
import trio
from trio_websocket import ConnectionClosed, serve_websocket

from mevbot.rpc.client import RpcClient
from mevbot.rpc.errors import EndpointUnavailable, NodeError, RpcTimeout
from mevbot.rpc.inflight import RPC_IN_FLIGHT
from mevbot.rpc.ws_calls import Pending, WsCalls
from tests.rpc.contracts import deploy_weth9

DEADLINE_S = 10.0


async def test_calls_and_batches_are_answered_by_id_over_the_websocket(anvil):
    async with RpcClient([anvil.url]) as http, WsCalls(anvil.ws_url) as calls:
        weth = await deploy_weth9(http)
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        symbol_call = {"to": weth, "data": "0x95d89b41"}  # symbol()
        pending = await calls.begin([("eth_call", [symbol_call, "latest"]), ("eth_blockNumber", []),
                                     ("eth_call", [{"to": weth, "data": "0xdeadbeef"}, "latest"])])
        assert isinstance(pending, Pending)  # on the wire, not waiting for HTTP
        symbol, number, unknown = await pending.answers()
        assert symbol == (await http.batch([("eth_call", [symbol_call, "latest"])]))[0]
        assert int(number, 16) == await http.block_number()
        assert isinstance(unknown, NodeError)  # WETH9 has no such function: a revert, per item
        async with trio.open_nursery() as nursery:  # concurrent calls get their own answers
            got: dict[int, str] = {}

            async def ask(i: int) -> None:
                got[i] = await calls.call("eth_getBalance", [f"0x{0xbeef00 + i:040x}", "latest"])

            for i in range(20):
                nursery.start_soon(ask, i)
        assert got == {i: "0x0" for i in range(20)}
        assert calls.malformed_messages == 0


async def test_while_the_websocket_is_down_calls_fail_unsent():
    # (RpcClient then takes its HTTP endpoints: test_rpc_client_answers_over_http_while_its_websocket_is_down)
    dead = "ws://127.0.0.1:9"  # nothing listens on the discard port
    async with WsCalls(dead, reconnect_s=0.05) as calls:
        assert not calls.is_connected
        for attempt in (calls.send_raw_transaction(b"\x02"), calls.batch([("eth_blockNumber", [])])):
            with pytest.raises(EndpointUnavailable) as caught:
                await attempt
            assert caught.value.request_sent is False  # it never left: safe to send elsewhere


async def test_after_the_node_restarts_calls_go_over_the_websocket_again(anvil_factory):
    node = anvil_factory()
    async with WsCalls(node.ws_url, reconnect_s=0.05) as calls:
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        assert await calls.call("eth_blockNumber") == "0x0"
        await trio.to_thread.run_sync(node.stop)
        restarted = anvil_factory(port=node.port)
        with trio.fail_after(DEADLINE_S):
            while True:
                try:
                    answer = await calls.call("eth_chainId")
                    break
                except EndpointUnavailable:
                    await trio.sleep(0.05)  # polling until the reconnect lands
        assert int(answer, 16) == restarted.chain_id and calls.reconnects >= 1


async def _serve(nursery, handler) -> str:
    server = await nursery.start(serve_websocket, handler, "127.0.0.1", 0, None)
    return f"ws://127.0.0.1:{server.port}"


async def test_garbage_and_unknown_ids_are_counted_and_the_connection_goes_on(nursery):
    # anvil only sends well-formed answers: a real WebSocket server of ours sends the rest.
    async def handler(request) -> None:
        ws = await request.accept()
        while True:
            asked = json.loads(await ws.get_message())
            await ws.send_message("this is not json")
            await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": 999_999, "result": "0x1"}))
            await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": asked["id"], "result": "0x2a"}))

    async with WsCalls(await _serve(nursery, handler)) as calls:
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        assert await calls.call("eth_blockNumber") == "0x2a"
        assert await calls.call("eth_blockNumber") == "0x2a"
    assert calls.malformed_messages == 4


async def test_a_drop_mid_call_says_the_request_may_have_been_sent(nursery):
    async def handler(request) -> None:
        ws = await request.accept()
        await ws.get_message()
        await ws.aclose()  # the node went away after reading the call, before answering

    async with WsCalls(await _serve(nursery, handler), reconnect_s=5.0) as calls:
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        with pytest.raises(EndpointUnavailable) as caught:
            await calls.send_raw_transaction(b"\x02")
        assert RPC_IN_FLIGHT.count == 0  # a replay's settle check no longer waits for it
    assert caught.value.request_sent is True  # it may have landed: the caller checks by hash


async def test_an_unanswered_call_times_out(nursery):
    read = trio.Event()

    async def handler(request) -> None:
        ws = await request.accept()
        while True:
            await ws.get_message()  # reads, never answers
            read.set()

    async with WsCalls(await _serve(nursery, handler), timeout_s=0.2) as calls:
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        async with trio.open_nursery() as caller:
            @caller.start_soon
            async def call() -> None:
                with pytest.raises(RpcTimeout):
                    await calls.call("eth_blockNumber")

            await read.wait()
            assert RPC_IN_FLIGHT.count == 1  # on the wire: the process is not idle (replay settle)
        assert RPC_IN_FLIGHT.count == 0


async def test_rpc_client_answers_over_http_while_its_websocket_is_down(anvil):
    async with RpcClient([anvil.url], ws_url="ws://127.0.0.1:9") as rpc:
        assert not await rpc.wait_connected(0.2)
        assert await rpc.chain_id() == anvil.chain_id
        over_ws, over_http = rpc.stats()
    assert (over_ws.calls, over_http.calls) == (0, 1)


async def test_over_a_dropping_websocket_a_read_is_answered_over_http_and_a_send_is_not_repeated(anvil, nursery):
    async def handler(request) -> None:
        ws = await request.accept()
        try:
            await ws.get_message()
        except ConnectionClosed:
            return  # a connection of the pool that was never used, closed at the end
        await ws.aclose()  # reads the call, then goes away without answering

    async with RpcClient([anvil.url], ws_url=await _serve(nursery, handler)) as rpc:
        assert await rpc.wait_connected(DEADLINE_S)
        with pytest.raises(EndpointUnavailable):
            await rpc.send_raw_transaction(b"\x02")
        assert rpc.stats()[1].calls == 0  # the send may have landed: not sent again over HTTP
        assert await rpc.wait_connected(DEADLINE_S)
        assert await rpc.chain_id() == anvil.chain_id  # a read: HTTP answers after the drop
        over_ws, over_http = rpc.stats()
    assert over_ws.errors == 2 and over_http.calls == 1


async def test_concurrent_calls_on_one_connection_go_one_at_a_time(nursery):
    # A node without TCP_NODELAY holds a second answer in a row for our delayed ACK (40 ms):
    # WsCalls never has two requests on its connection, so no answer follows another unasked.
    most_at_once = 0

    async def handler(request) -> None:
        nonlocal most_at_once
        ws = await request.accept()
        while True:
            asked = json.loads(await ws.get_message())
            with trio.move_on_after(0.05):  # a second request now would be a second one in flight
                await ws.get_message()
                most_at_once = 2
            await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": asked["id"], "result": "0x1"}))

    async with WsCalls(await _serve(nursery, handler)) as calls:
        with trio.fail_after(DEADLINE_S):
            await calls.wait_connected()
        async with trio.open_nursery() as callers:
            for _ in range(3):
                callers.start_soon(calls.call, "eth_blockNumber")
    assert most_at_once == 0


async def test_rpc_client_spreads_overlapping_calls_over_its_connections(anvil):
    async with RpcClient([anvil.url], ws_url=anvil.ws_url, ws_connections=3) as rpc:
        assert await rpc.wait_connected(DEADLINE_S)
        answers = []

        async def ask() -> None:
            answers.append(await rpc.chain_id())

        async with trio.open_nursery() as callers:
            for _ in range(6):
                callers.start_soon(ask)
        assert answers == [anvil.chain_id] * 6
        assert rpc.stats()[1].calls == 0  # all over the WebSocket connections
