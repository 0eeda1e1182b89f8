"""A real trio-websocket server that serves captured feed frames the way Nitro does.

On connect it reads ``Arbitrum-Requested-Sequence-Number`` and sends every frame whose
sequence number is at least that (all of them without the header), as fast as the test
releases them. Cancelling :meth:`kill` aborts the listener and every connection, as a
crashed or restarted sequencer relay would.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket


def frame_sequence(frame: str) -> int | None:
    try:
        doc = json.loads(frame)
        messages = doc.get("messages") or []
    except (ValueError, AttributeError):  # the malformed frames some tests send
        return None
    return messages[0]["sequenceNumber"] if messages else None


class SampleFeedServer:
    def __init__(self, frames: list[str], *, available: int | None = None) -> None:
        self.frames = frames
        self.available = len(frames) if available is None else available
        self.port = 0
        self.requested: list[int | None] = []  # the header of each connection, in order
        self.before_send: Callable[[int | None], Awaitable[None]] | None = None
        self._changed = trio.Event()
        self._scope: trio.CancelScope | None = None

    def release(self, count: int) -> None:
        """Let the first ``count`` frames be sent."""
        self.available = count
        self._changed.set()
        self._changed = trio.Event()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/feed"

    async def start(self, nursery: trio.Nursery) -> None:
        """Listen (on the previous port after a kill, so the client's URL stays valid)."""
        self._scope = trio.CancelScope()

        async def serve(task_status=trio.TASK_STATUS_IGNORED) -> None:
            with self._scope:
                await serve_websocket(self._handle, "127.0.0.1", self.port, None, task_status=task_status)

        server = await nursery.start(serve)
        self.port = server.port

    def kill(self) -> None:
        assert self._scope is not None
        self._scope.cancel()

    async def _handle(self, request: WebSocketRequest) -> None:
        headers = {name.lower(): value for name, value in request.headers}
        raw = headers.get(b"arbitrum-requested-sequence-number")
        requested = int(raw) if raw is not None else None
        self.requested.append(requested)
        ws = await request.accept()
        index = 0
        if requested is not None:
            while index < len(self.frames) and (frame_sequence(self.frames[index]) or -1) < requested:
                index += 1
        try:
            while True:
                while index >= self.available:
                    await self._changed.wait()
                frame = self.frames[index]
                if self.before_send is not None:
                    await self.before_send(frame_sequence(frame))
                await ws.send_message(frame)
                index += 1
        except ConnectionClosed:
            pass
