"""Misbehaving HTTP servers on real local sockets, for what a real node will not do on demand:
accept a request and never answer, or answer with a proxy's error page."""

from __future__ import annotations

import json

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


class LogRangeLimitingProxy:
    """Forwards JSON-RPC to a real node, but refuses ``eth_getLogs`` over more than
    ``max_blocks`` blocks, as hosted nodes do (anvil itself has no such limit)."""

    def __init__(self, upstream: str, max_blocks: int) -> None:
        self.upstream = upstream
        self.max_blocks = max_blocks
        self.refused = 0
        self.served_ranges: list[tuple[int, int]] = []
        self.url = ""

    async def serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        import httpx

        async with httpx.AsyncClient() as upstream:
            self._http = upstream
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            self.url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
            await trio.serve_listeners(self._handle, listeners, task_status=task_status)

    async def _handle(self, stream: trio.abc.Stream) -> None:
        buffer = b""
        async with stream:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = await stream.receive_some()
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                while len(buffer) < length:
                    buffer += await stream.receive_some()
                body, buffer = buffer[:length], buffer[length:]
                answer = await self._answer(json.loads(body))
                await stream.send_all(http_reply("200 OK", json.dumps(answer).encode(),
                                                 "application/json"))

    async def _answer(self, request):
        items = request if isinstance(request, list) else [request]
        refusals = {}
        for item in items:
            if item["method"] == "eth_getLogs":
                low, high = (int(item["params"][0][k], 16) for k in ("fromBlock", "toBlock"))
                if high - low + 1 > self.max_blocks:
                    self.refused += 1
                    refusals[item["id"]] = {"jsonrpc": "2.0", "id": item["id"], "error": {
                        "code": -32005, "message": f"query exceeds {self.max_blocks} blocks"}}
                else:
                    self.served_ranges.append((low, high))
        response = (await self._http.post(self.upstream, json=request)).json()
        if isinstance(response, list):
            return [refusals.get(item.get("id"), item) for item in response]
        return refusals.get(response.get("id"), response)
