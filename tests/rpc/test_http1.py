"""The minimal HTTP/1.1 client (mevbot/rpc/http1.py) passes the whole RpcClient suite, and frames
what a node or a proxy may send: chunked bodies, ``Connection: close``, an idle connection the
server dropped."""

from __future__ import annotations

import json

import pytest
import trio

from mevbot.rpc.client import RpcClient
from mevbot.rpc.errors import AllEndpointsFailed, EndpointUnavailable
from tests.rpc import test_client as suite
from tests.rpc.servers import RawHttpServer

# Every test of the RpcClient suite runs here again with the lean client (lean_http forced on).
globals().update({name: getattr(suite, name) for name in dir(suite) if name.startswith("test_")})


@pytest.fixture(autouse=True)
def lean_http(monkeypatch):
    original = RpcClient.__init__

    def forced(self, *args, **kwargs):
        kwargs["lean_http"] = True
        original(self, *args, **kwargs)

    monkeypatch.setattr(RpcClient, "__init__", forced)


ANSWER = json.dumps({"jsonrpc": "2.0", "id": 1, "result": "0x7"}).encode()


def chunked(body: bytes, *, trailer: bool = False) -> bytes:
    parts = [body[:5], body[5:]]
    chunks = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts)
    return (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: application/json\r\n\r\n" + chunks
            + b"0\r\n" + (b"x-trailer: 1\r\n" if trailer else b"") + b"\r\n")


@pytest.mark.parametrize("reply, connections", [
    (chunked(ANSWER), 1),
    (chunked(ANSWER, trailer=True), 1),
    (b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n" % len(ANSWER) + ANSWER, 3),
])
async def test_chunked_and_closing_replies_are_read_whole(nursery, reply, connections):
    node = RawHttpServer(reply=reply)
    await nursery.start(node.serve)
    async with RpcClient([node.url]) as rpc:
        for _ in range(3):
            assert await rpc.block_number() == 7
    assert node.requests == 3 and node.connections == connections


async def test_an_idle_connection_the_server_closed_is_not_used_again(nursery):
    served = []

    async def one_answer_per_connection(stream):
        async with stream:
            data = await stream.receive_some()
            served.append(data.count(b"POST "))
            await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(ANSWER) + ANSWER)
        # closed without "Connection: close": the client finds out while the connection is idle

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
    nursery.start_soon(trio.serve_listeners, one_answer_per_connection, listeners)
    async with RpcClient([url], retries=0) as rpc:
        for _ in range(3):
            assert await rpc.block_number() == 7
            await trio.sleep(0.05)  # the server's close reaches us
    assert served == [1, 1, 1]


async def test_a_truncated_reply_is_an_endpoint_failure(nursery):
    node = RawHttpServer(reply=b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"jsonrpc\"")

    async def truncate(stream):
        async with stream:
            await stream.receive_some()
            await stream.send_all(node.reply)

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
    nursery.start_soon(trio.serve_listeners, truncate, listeners)
    async with RpcClient([url], retries=0) as rpc:
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.block_number()
    [(_url, err)] = caught.value.attempts
    assert isinstance(err, EndpointUnavailable) and "disconnected" in str(err)
