"""Misbehaving HTTP servers on real local sockets, for what a real node will not do on demand:
accept a request and never answer, or answer with a proxy's error page."""

from __future__ import annotations

import trio


class RawHttpServer:
    """Counts the connections and POSTs it receives; answers each with ``reply`` bytes, or never if None."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.requests = 0
        self.connections = 0
        self.request_seen = trio.Event()
        self.url = ""

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        await trio.serve_listeners(self._handle, listeners, task_status=task_status)

    async def _handle(self, stream: trio.abc.Stream) -> None:
        self.connections += 1
        async with stream:
            while True:
                data = await stream.receive_some()
                if not data:
                    return
                posts = data.count(b"POST ")
                if posts:
                    self.requests += posts
                    self.request_seen.set()
                    if self.reply is not None:
                        await stream.send_all(self.reply)


def http_reply(status: str, body: bytes, content_type: str = "text/html") -> bytes:
    return (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body
