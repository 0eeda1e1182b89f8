"""WebSocket transport (trio-websocket) for monitoring dashboards and external clients.

One WebSocket binary message carries a coalesced batch: the same length-prefixed frames as the
socket transports, so the bus codec and batching are shared. A message whose frames do not
exactly fill it is a truncated frame and closes that connection. trio-websocket runs a reader
task per connection, so connecting needs a nursery: pass it to the transport.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio
import trio_websocket

from transports.base import DEFAULT_MAX_FRAME_BYTES, Handler, MessageStream, Transport, serve_connection
from transports.errors import ConnectFailed, FrameError, StreamClosed
from transports.framing import FrameDecoder, encode_frames
from transports.tcp import split_address

PATH = "/bus"
CLOSE_TIMEOUT_S = 2.0


class WebSocketStream(MessageStream):
    def __init__(self, ws: trio_websocket.WebSocketConnection, max_frame_bytes: int, peer: str) -> None:
        self.ws = ws
        self.peer = peer
        self.max_frame_bytes = max_frame_bytes
        self._closed = False

    async def send_batch(self, frames: Sequence[bytes]) -> None:
        if self._closed:
            raise StreamClosed(f"send on a closed stream to {self.peer}")
        try:
            await self.ws.send_message(encode_frames(frames))
        except trio_websocket.ConnectionClosed:
            raise StreamClosed(f"{self.peer} closed the websocket") from None

    async def receive_batch(self) -> list[bytes]:
        if self._closed:
            raise StreamClosed(f"receive on a closed stream from {self.peer}")
        try:
            message = await self.ws.get_message()
        except trio_websocket.ConnectionClosed:
            raise StreamClosed(f"{self.peer} closed the websocket") from None
        if isinstance(message, str):
            raise FrameError(f"{self.peer} sent a text websocket message; expected binary frames")
        decoder = FrameDecoder(self.max_frame_bytes)
        frames = decoder.feed(message)
        decoder.check_eof()
        return frames

    async def aclose(self) -> None:
        """Close, waiting at most CLOSE_TIMEOUT_S for the peer's half of the close handshake.

        trio-websocket waits for that reply without a deadline, and the wait is shielded here
        (closing must finish even when cancelled), so a silent peer would hang us forever; on
        the deadline trio-websocket closes the TCP stream instead.
        """
        if not self._closed:
            self._closed = True
            with trio.move_on_after(CLOSE_TIMEOUT_S) as scope:
                scope.shield = True
                await self.ws.aclose()


class WebSocketTransport(Transport):
    name = "websocket"

    def __init__(self, nursery: trio.Nursery, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 ssl_context=None) -> None:
        self.nursery = nursery
        self.max_frame_bytes = max_frame_bytes
        self.ssl_context = ssl_context
        # a coalesced batch may hold many max-size frames' worth of small ones
        self._max_message = max_frame_bytes + 1024 * 1024

    async def connect(self, address: str) -> WebSocketStream:
        host, port = split_address(address)
        scheme = "wss" if self.ssl_context else "ws"
        try:
            ws = await trio_websocket.connect_websocket_url(
                self.nursery, f"{scheme}://{host}:{port}{PATH}", self.ssl_context,
                max_message_size=self._max_message, message_queue_size=64)
        except (OSError, trio_websocket.HandshakeError) as exc:
            raise ConnectFailed(f"websocket: cannot connect to {address}: {exc}") from None
        return WebSocketStream(ws, self.max_frame_bytes, f"ws:{address}")

    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
        host, port = split_address(address)

        async def accept(request: trio_websocket.WebSocketRequest) -> None:
            ws = await request.accept()
            remote = ws.remote
            peer = f"ws:{getattr(remote, 'address', '?')}:{getattr(remote, 'port', '?')}"
            await serve_connection(handler, WebSocketStream(ws, self.max_frame_bytes, peer), self.name)

        async with trio.open_nursery() as nursery:
            server = await nursery.start(lambda task_status: trio_websocket.serve_websocket(
                accept, host, port, self.ssl_context, max_message_size=self._max_message,
                message_queue_size=64, task_status=task_status))
            task_status.started(f"{host}:{server.port}")
