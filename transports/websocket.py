"""WebSocket transport (trio-websocket) for monitoring dashboards and external clients.

One WebSocket binary message carries a coalesced batch: the same length-prefixed frames as the
socket transports, so the bus codec and batching are shared. A message whose frames do not
exactly fill it is a truncated frame and closes that connection. trio-websocket runs a reader
task per connection, so connecting needs a nursery: pass it to the transport.

With a ``token``, the listener accepts only a client that presents it in its upgrade request,
as ``Authorization: Bearer <token>`` or, for browsers (whose WebSocket API cannot set headers),
as the ``token`` query parameter of the URL; any other request is refused with HTTP 401 before
the handshake completes. The connecting side sends the header.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

import trio
import trio_websocket

from transports.base import DEFAULT_MAX_FRAME_BYTES, Handler, MessageStream, Transport, serve_connection
from transports.errors import ConnectFailed, FrameError, StreamClosed
from transports.framing import FrameDecoder, encode_frames
from transports.tcp import split_address

PATH = "/bus"
CLOSE_TIMEOUT_S = 2.0

log = logging.getLogger("transports.websocket")


def presented_token(request: trio_websocket.WebSocketRequest) -> str:
    """The token of an upgrade request: its Bearer Authorization header, else ``?token=``."""
    for name, value in request.headers:
        if name.lower() == b"authorization" and value[:7].lower() == b"bearer ":
            return value[7:].decode("latin-1").strip()
    values = parse_qs(urlsplit(request.path).query).get("token")
    return values[0] if values else ""


class WebSocketStream(MessageStream):
    def __init__(self, ws: trio_websocket.WebSocketConnection, max_frame_bytes: int, peer: str) -> None:
        self.ws = ws
        self.peer = peer
        self.max_frame_bytes = max_frame_bytes
        self._closed = False
        self._refused: FrameError | None = None

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
        if self._refused is not None:  # the frames before an oversize one came out last time
            raise self._refused
        try:
            message = await self.ws.get_message()
        except trio_websocket.ConnectionClosed:
            raise StreamClosed(f"{self.peer} closed the websocket") from None
        if isinstance(message, str):
            raise FrameError(f"{self.peer} sent a text websocket message; expected binary frames")
        decoder = FrameDecoder(self.max_frame_bytes)
        frames = decoder.feed(message)
        self._refused = decoder.refused
        if self._refused is None:
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


def _leaves(group: BaseException):
    if isinstance(group, BaseExceptionGroup):
        for exc in group.exceptions:
            yield from _leaves(exc)
    else:
        yield group


def _reason(exc: BaseException) -> str:
    if isinstance(exc, trio_websocket.ConnectionRejected):
        return f"refused with HTTP {exc.status_code}" + (" (a valid token is required)"
                                                         if exc.status_code == 401 else "")
    return str(exc)


class WebSocketTransport(Transport):
    name = "websocket"

    def __init__(self, nursery: trio.Nursery, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 ssl_context=None, token: str = "") -> None:
        self.nursery = nursery
        self.token = token
        self.max_frame_bytes = max_frame_bytes
        self.ssl_context = ssl_context
        # a coalesced batch may hold many max-size frames' worth of small ones
        self._max_message = max_frame_bytes + 1024 * 1024

    async def connect(self, address: str) -> WebSocketStream:
        host, port = split_address(address)
        scheme = "wss" if self.ssl_context else "ws"
        headers = [(b"Authorization", b"Bearer " + self.token.encode())] if self.token else None

        async def hold(task_status=trio.TASK_STATUS_IGNORED) -> None:
            # The connection's reader task lives in a nursery of its own under self.nursery: a
            # refusal (HTTP 401) surfaces in that task, and so reaches connect() through start()
            # instead of cancelling the caller's nursery.
            async with trio.open_nursery() as own:
                ws = await trio_websocket.connect_websocket_url(
                    own, f"{scheme}://{host}:{port}{PATH}", self.ssl_context,
                    max_message_size=self._max_message, message_queue_size=64, extra_headers=headers)
                task_status.started(ws)

        try:
            ws = await self.nursery.start(hold)
        except (OSError, trio_websocket.HandshakeError, BaseExceptionGroup) as exc:
            # not ``except*``: before 3.11.4 an exception raised in its handler left wrapped in
            # an ExceptionGroup (gh-103590), and Debian's 3.11 is 3.11.2
            failures = list(_leaves(exc))
            if not all(isinstance(leaf, (OSError, trio_websocket.HandshakeError)) for leaf in failures):
                raise
            reasons = "; ".join(_reason(leaf) for leaf in failures)
            raise ConnectFailed(f"websocket: cannot connect to {address}: {reasons}") from None
        return WebSocketStream(ws, self.max_frame_bytes, f"ws:{address}")

    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
        host, port = split_address(address)

        async def accept(request: trio_websocket.WebSocketRequest) -> None:
            if self.token and not hmac.compare_digest(presented_token(request).encode(), self.token.encode()):
                remote = request.remote
                log.warning("websocket %s: refused a client at %s:%s without the right token",
                            address, getattr(remote, "address", "?"), getattr(remote, "port", "?"))
                await request.reject(401, body=b"a valid token is required\n")
                return
            ws = await request.accept()
            remote = ws.remote
            peer = f"ws:{getattr(remote, 'address', '?')}:{getattr(remote, 'port', '?')}"
            await serve_connection(handler, WebSocketStream(ws, self.max_frame_bytes, peer), self.name)

        async with trio.open_nursery() as nursery:
            server = await nursery.start(lambda task_status: trio_websocket.serve_websocket(
                accept, host, port, self.ssl_context, max_message_size=self._max_message,
                message_queue_size=64, task_status=task_status))
            task_status.started(f"{host}:{server.port}")
