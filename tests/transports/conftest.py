"""Fixtures opening a connected (client, server) stream pair over each transport."""

from __future__ import annotations

import contextlib
import os
import tempfile

import pytest
import trio

from transports.memory import MemoryTransport
from transports.tcp import TcpTransport
from transports.unix import UnixTransport
from transports.websocket import WebSocketTransport

SECRET = b"0123456789abcdef-test-secret"
MAX_FRAME = 4 * 1024 * 1024
TRANSPORTS = ["memory", "unix", "tcp", "websocket"]


def make_transport(kind: str, nursery: trio.Nursery, *, secret: bytes = SECRET, max_frame: int = MAX_FRAME):
    if kind == "memory":
        return MemoryTransport(buffer=64), f"mem-{os.getpid()}-{id(nursery)}"
    if kind == "unix":
        path = os.path.join(tempfile.mkdtemp(prefix="mvb-"), "bus.sock")
        return UnixTransport(max_frame_bytes=max_frame), path
    if kind == "tcp":
        return TcpTransport(secret, max_frame_bytes=max_frame), "127.0.0.1:0"
    return WebSocketTransport(nursery, max_frame_bytes=max_frame), "127.0.0.1:0"


@contextlib.asynccontextmanager
async def open_pair(kind: str, **kwargs):
    """Yield (transport, address, client stream, server stream); everything closed on exit."""
    async with trio.open_nursery() as nursery:
        transport, address = make_transport(kind, nursery, **kwargs)
        accepted_send, accepted_receive = trio.open_memory_channel(1)

        async def handler(stream):
            await accepted_send.send(stream)
            await trio.sleep_forever()  # keep the connection open until the test ends

        bound = await nursery.start(transport.listen, address, handler)
        client = await transport.connect(bound)
        server = await accepted_receive.receive()
        try:
            yield transport, bound, client, server
        finally:
            await client.aclose()
            nursery.cancel_scope.cancel()


@pytest.fixture(params=TRANSPORTS)
def transport_kind(request):
    return request.param
