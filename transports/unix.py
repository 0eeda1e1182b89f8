"""Unix domain stream sockets: the same-host transport (length-prefixed frames)."""

from __future__ import annotations

import os

import trio

from transports.base import (DEFAULT_MAX_FRAME_BYTES, FramedStream, Handler, Transport,
                             expect_preamble, send_preamble, serve_connection)
from transports.errors import ConnectFailed

SOCKET_BUFFER_BYTES = 1024 * 1024


class UnixTransport(Transport):
    name = "unix"

    def __init__(self, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes

    async def connect(self, address: str) -> FramedStream:
        try:
            sock_stream = await trio.open_unix_socket(address)
        except OSError as exc:
            raise ConnectFailed(f"unix: cannot connect to {address}: {exc.strerror or exc}") from None
        _grow_buffers(sock_stream)
        stream = FramedStream(sock_stream, max_frame_bytes=self.max_frame_bytes, peer=address)
        await send_preamble(stream)
        return stream

    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(address)), exist_ok=True)
        if os.path.exists(address):
            os.unlink(address)  # a stale socket file from a previous run of this process
        sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
        try:
            await sock.bind(address)
            os.chmod(address, 0o600)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        listener = trio.SocketListener(sock)

        async def accept(sock_stream: trio.SocketStream) -> None:
            _grow_buffers(sock_stream)
            stream = FramedStream(sock_stream, max_frame_bytes=self.max_frame_bytes,
                                  peer=f"unix:{address}")
            await serve_connection(handler, stream, self.name, expect_preamble)

        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(trio.serve_listeners, accept, [listener])
                task_status.started(address)
        finally:
            try:
                os.unlink(address)
            except OSError:
                pass


def _grow_buffers(sock_stream) -> None:
    """Larger kernel buffers let a burst of coalesced writes land in one syscall."""
    for opt in (trio.socket.SO_SNDBUF, trio.socket.SO_RCVBUF):
        try:
            sock_stream.setsockopt(trio.socket.SOL_SOCKET, opt, SOCKET_BUFFER_BYTES)
        except OSError:
            pass
