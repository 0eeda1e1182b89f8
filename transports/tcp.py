"""TCP between hosts: TCP_NODELAY, optional TLS (trio.SSLStream), shared-secret handshake.

After the preamble both sides prove they hold the shared secret without sending it:

    client -> server   PREAMBLE, client nonce (16 B)
    server -> client   server nonce (16 B), HMAC-SHA256(secret, "srv" | client nonce | server nonce)
    client -> server   HMAC-SHA256(secret, "cli" | server nonce | client nonce)

Either side closes the connection when the other's MAC is wrong, so an unknown peer can neither
publish into the bus nor receive from it. TLS, when configured, wraps the socket first and
gives confidentiality; the HMAC gives admission even without TLS.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import ssl

import trio

from transports.base import (DEFAULT_MAX_FRAME_BYTES, FramedStream, Handler, Transport,
                             expect_preamble, serve_connection)
from transports.errors import ConnectFailed, HandshakeError
from transports.framing import PREAMBLE

NONCE_BYTES = 16
MAC_BYTES = 32


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConnectFailed(f"tcp: address {address!r} is not host:port")
    return host.strip("[]") or "127.0.0.1", int(port)


def _mac(secret: bytes, label: bytes, first: bytes, second: bytes) -> bytes:
    return hmac.new(secret, label + first + second, hashlib.sha256).digest()


class TcpTransport(Transport):
    name = "tcp"

    def __init__(self, secret: bytes | str, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 server_ssl: ssl.SSLContext | None = None,
                 client_ssl: ssl.SSLContext | None = None) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if len(secret) < 16:
            raise HandshakeError("tcp: the shared secret ([deploy] secret) must be at least 16 "
                                 f"bytes, got {len(secret)}")
        self._secret = secret
        self.max_frame_bytes = max_frame_bytes
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl

    async def connect(self, address: str) -> FramedStream:
        host, port = split_address(address)
        try:
            sock_stream = await trio.open_tcp_stream(host, port)
        except OSError as exc:
            raise ConnectFailed(f"tcp: cannot connect to {address}: {exc}") from None
        _set_nodelay(sock_stream)
        raw: trio.abc.Stream = sock_stream
        if self.client_ssl is not None:
            raw = trio.SSLStream(sock_stream, self.client_ssl, server_hostname=host)
        stream = FramedStream(raw, max_frame_bytes=self.max_frame_bytes, peer=f"tcp:{address}")
        try:
            with trio.fail_after(5):
                await self._client_handshake(stream)
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def _client_handshake(self, stream: FramedStream) -> None:
        client_nonce = os.urandom(NONCE_BYTES)
        try:
            await stream.send_raw(PREAMBLE + client_nonce)
            reply = await stream.receive_raw(NONCE_BYTES + MAC_BYTES)
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError) as exc:
            cause = exc if isinstance(exc, ssl.SSLError) else exc.__cause__  # trio wraps TLS errors
            why = f"TLS failed: {cause}" if isinstance(cause, ssl.SSLError) else repr(exc)
            raise HandshakeError(f"tcp: {stream.peer} dropped the handshake: {why}") from None
        server_nonce, server_mac = reply[:NONCE_BYTES], reply[NONCE_BYTES:]
        if not hmac.compare_digest(server_mac, _mac(self._secret, b"srv", client_nonce, server_nonce)):
            raise HandshakeError(f"tcp: {stream.peer} did not prove the shared secret; refusing it")
        await stream.send_raw(_mac(self._secret, b"cli", server_nonce, client_nonce))

    async def _server_handshake(self, stream: FramedStream) -> None:
        await expect_preamble(stream)
        client_nonce = await stream.receive_raw(NONCE_BYTES)
        server_nonce = os.urandom(NONCE_BYTES)
        await stream.send_raw(server_nonce + _mac(self._secret, b"srv", client_nonce, server_nonce))
        client_mac = await stream.receive_raw(MAC_BYTES)
        if not hmac.compare_digest(client_mac, _mac(self._secret, b"cli", server_nonce, client_nonce)):
            raise HandshakeError(f"tcp: {stream.peer} did not prove the shared secret "
                                 "(unknown peer refused)")

    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None:
        host, port = split_address(address)
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound_host, bound_port = listeners[0].socket.getsockname()[:2]

        async def accept(sock_stream: trio.SocketStream) -> None:
            _set_nodelay(sock_stream)
            peer = "tcp:%s:%s" % sock_stream.socket.getpeername()[:2]
            raw: trio.abc.Stream = sock_stream
            if self.server_ssl is not None:
                raw = trio.SSLStream(sock_stream, self.server_ssl, server_side=True)
            stream = FramedStream(raw, max_frame_bytes=self.max_frame_bytes, peer=peer)
            await serve_connection(handler, stream, self.name, self._server_handshake)

        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, accept, listeners)
            task_status.started(f"{bound_host}:{bound_port}")


def _set_nodelay(sock_stream: trio.SocketStream) -> None:
    """Small latency-critical frames must not wait for Nagle; we coalesce ourselves."""
    sock_stream.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, True)
