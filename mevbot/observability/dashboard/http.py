"""One port for the page and its WebSocket: read the request head, then answer or upgrade.

trio-websocket answers a plain GET with 400, so the server reads the head itself: a WebSocket
upgrade is handed to trio-websocket through :class:`ReplayStream` (which gives the head back
before the rest of the socket, as if nothing had been read); anything else is answered here
(the page, or 404/405) and the connection closes.
"""

from __future__ import annotations

import trio

MAX_HEAD_BYTES = 16 * 1024


class ReplayStream(trio.abc.Stream):
    """``stream`` with ``prefix`` (bytes already read from it) received first."""

    def __init__(self, prefix: bytes, stream: trio.abc.Stream) -> None:
        self._prefix = prefix
        self._stream = stream
        self.closed = trio.Event()  # trio-websocket closes the stream when a handshake fails

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            size = len(self._prefix) if max_bytes is None else max_bytes
            chunk, self._prefix = self._prefix[:size], self._prefix[size:]
            await trio.lowlevel.checkpoint()
            return chunk
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self.closed.set()


async def read_head(stream: trio.abc.Stream) -> bytes | None:
    """Bytes up to and including the blank line ending the head (plus whatever came with them).

    None when the peer closes first or the head exceeds :data:`MAX_HEAD_BYTES`.
    """
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD_BYTES:
            return None
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        data += chunk
    return data


def parse_head(data: bytes) -> tuple[str, str, dict[str, str]] | None:
    """``(method, path, headers)`` with lower-case header names; None if malformed."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1].split("?", 1)[0], headers


def is_websocket_upgrade(headers: dict[str, str]) -> bool:
    return headers.get("upgrade", "").lower() == "websocket"


def origin_allowed(headers: dict[str, str]) -> bool:
    """A browser's WebSocket must come from the dashboard's own page (no cross-site hijacking).

    Non-browser clients send no Origin and are allowed; they still need the token to act.
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


def response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
            "Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n")
    return head.encode() + body
