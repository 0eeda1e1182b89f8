"""In-process transport over trio memory channels: frames are Python objects, never encoded.

Addresses are names in a per-process table (``listen("bus.hot", ...)``). Each connection is
two bounded channels, one per direction, so a slow reader backpressures its writer exactly as a
full socket buffer would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import trio

from transports.base import Handler, MessageStream, Transport, serve_connection
from transports.errors import ConnectFailed, StreamClosed

_listeners: dict[str, trio.MemorySendChannel] = {}


class MemoryStream(MessageStream):
    def __init__(self, send: trio.MemorySendChannel, receive: trio.MemoryReceiveChannel,
                 peer: str, max_batch: int = 4096) -> None:
        self._send = send
        self._receive = receive
        self.peer = peer
        self._max_batch = max_batch
        self._closed = False

    async def send_batch(self, frames: Sequence[Any]) -> None:
        if self._closed:
            raise StreamClosed(f"send on a closed stream to {self.peer}")
        send_nowait = self._send.send_nowait
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            for frame in frames:
                try:
                    send_nowait(frame)
                except trio.WouldBlock:
                    await self._send.send(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise StreamClosed(f"{self.peer} closed the connection") from None

    async def receive_batch(self) -> list[Any]:
        if self._closed:
            raise StreamClosed(f"receive on a closed stream from {self.peer}")
        try:
            batch = [await self._receive.receive()]
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StreamClosed(f"{self.peer} closed the connection") from None
        receive_nowait = self._receive.receive_nowait
        try:
            while len(batch) < self._max_batch:
                batch.append(receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            pass
        return batch

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._send.aclose()
        await self._receive.aclose()


def memory_stream_pair(buffer: int = 1024, names: tuple[str, str] = ("a", "b")
                       ) -> tuple[MemoryStream, MemoryStream]:
    a_to_b_send, a_to_b_receive = trio.open_memory_channel(buffer)
    b_to_a_send, b_to_a_receive = trio.open_memory_channel(buffer)
    return (MemoryStream(a_to_b_send, b_to_a_receive, names[1]),
            MemoryStream(b_to_a_send, a_to_b_receive, names[0]))


class MemoryTransport(Transport):
    name = "memory"
    serialises = False

    def __init__(self, buffer: int = 1024) -> None:
        self.buffer = buffer

    async def connect(self, address: str) -> MessageStream:
        accept = _listeners.get(address)
        if accept is None:
            raise ConnectFailed(f"memory: no listener named {address!r} in this process")
        ours, theirs = memory_stream_pair(self.buffer, ("connector", address))
        try:
            await accept.send(theirs)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ConnectFailed(f"memory: listener {address!r} has stopped") from None
        return ours

    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
        if address in _listeners:
            raise ConnectFailed(f"memory: address {address!r} is already listening")
        accept_send, accept_receive = trio.open_memory_channel(16)
        _listeners[address] = accept_send
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(address)
                async for stream in accept_receive:
                    nursery.start_soon(serve_connection, handler, stream, self.name)
        finally:
            _listeners.pop(address, None)
            accept_send.close()
