"""The transport contract: listen, connect, a framed message stream, close.

A :class:`Transport` turns an address into connected :class:`MessageStream` objects, either by
``connect(address)`` or by ``listen(address, handler)``, which calls ``handler(stream)`` once
per accepted connection in its own task. A message stream is ordered and reliable; it carries
*frames*: ``bytes`` for every transport whose ``serialises`` is true, and arbitrary Python
objects for the in-process memory transport (nothing is copied or encoded there).

Contract of every implementation (tests/transports/test_conformance.py checks it):

- ``send_batch(frames)`` delivers the frames in order; byte transports coalesce the whole batch
  into one ``send_all`` so several frames leave in one write, and a batch of one leaves at once.
- ``receive_batch()`` waits for at least one frame and returns every frame already available,
  in order. It raises :class:`StreamClosed` once the peer has closed cleanly, and
  :class:`FrameError` on an oversize, truncated or garbage frame (the connection is then dead).
- ``aclose()`` is idempotent; after it the peer's ``receive_batch`` ends with ``StreamClosed``.
- ``listen`` keeps serving other connections whatever one handler raises; it logs the reason
  of every connection it closes on an error and calls ``task_status.started(address)`` with the
  bound address (port 0 resolved) once it accepts connections.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

import trio

from transports.errors import FrameError, HandshakeError, StreamClosed, TransportError
from transports.framing import PREAMBLE, FrameDecoder, encode_frames

log = logging.getLogger("mevbot.transports")

DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
RECEIVE_CHUNK = 256 * 1024


class MessageStream(abc.ABC):
    """One connection's ordered stream of frames (see the module docstring)."""

    peer: str = "?"

    async def send(self, frame: Any) -> None:
        await self.send_batch((frame,))

    @abc.abstractmethod
    async def send_batch(self, frames: Sequence[Any]) -> None: ...

    @abc.abstractmethod
    async def receive_batch(self) -> list[Any]: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()


Handler = Callable[[MessageStream], Awaitable[None]]


class Transport(abc.ABC):
    """Makes message streams to and from addresses (see the module docstring)."""

    name: ClassVar[str]
    serialises: ClassVar[bool] = True

    @abc.abstractmethod
    async def connect(self, address: str) -> MessageStream: ...

    @abc.abstractmethod
    async def listen(self, address: str, handler: Handler, *,
                     task_status=trio.TASK_STATUS_IGNORED) -> None: ...


class FramedStream(MessageStream):
    """Length-prefixed frames over any ``trio.abc.Stream`` (Unix, TCP, TLS)."""

    def __init__(self, stream: trio.abc.Stream, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                 peer: str = "?") -> None:
        self.stream = stream
        self.peer = peer
        self._decoder = FrameDecoder(max_frame_bytes)
        self._ready: list[bytes] = []
        self._send_lock = trio.StrictFIFOLock()
        self._closed = False
        self._eof = False

    async def send_batch(self, frames: Sequence[bytes]) -> None:
        if self._closed:
            raise StreamClosed(f"send on a closed stream to {self.peer}")
        data = encode_frames(frames)
        async with self._send_lock:
            try:
                await self.stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                raise StreamClosed(f"connection to {self.peer} broke while sending: {exc!r}") from None

    async def send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            await self.stream.send_all(data)

    async def _receive_chunk(self) -> bytes:
        if self._closed:
            raise StreamClosed(f"receive on a closed stream from {self.peer}")
        try:
            return await self.stream.receive_some(RECEIVE_CHUNK)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise StreamClosed(f"connection from {self.peer} broke: {exc!r}") from None

    async def receive_raw(self, n: int) -> bytes:
        """Exactly ``n`` unframed bytes (handshakes); raises HandshakeError at EOF."""
        while True:
            raw = self._decoder.take_raw(n)
            if raw is not None:
                return raw
            chunk = await self._receive_chunk()
            if not chunk:
                raise HandshakeError(f"{self.peer} closed the connection during the handshake")
            self._decoder.feed_raw(chunk)

    async def receive_batch(self) -> list[bytes]:
        if self._ready:
            ready, self._ready = self._ready, []
            return ready
        self._decoder.raise_refused()  # the frames before an oversize one came out last time
        if self._decoder.buffered:
            frames = self._decoder.feed(b"")
            if frames:
                return frames
        while True:
            if self._eof:
                raise StreamClosed(f"{self.peer} closed the connection")
            chunk = await self._receive_chunk()
            if not chunk:
                self._eof = True
                self._decoder.check_eof()
                raise StreamClosed(f"{self.peer} closed the connection")
            frames = self._decoder.feed(chunk)
            if frames:
                return frames

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True):
            await self.stream.aclose()


async def send_preamble(stream: FramedStream) -> None:
    await stream.send_raw(PREAMBLE)


async def expect_preamble(stream: FramedStream) -> None:
    got = await stream.receive_raw(len(PREAMBLE))
    if got != PREAMBLE:
        raise HandshakeError(f"{stream.peer} sent {got!r} instead of the bus preamble "
                             f"{PREAMBLE!r}: not a mevbot peer (garbage bytes)")


async def serve_connection(handler: Handler, stream: MessageStream, transport: str,
                           accept: Callable[[MessageStream], Awaitable[None]] | None = None,
                           handshake_timeout_s: float = 5.0) -> None:
    """Run ``handler`` on one accepted connection; whatever it raises closes only this one."""
    try:
        if accept is not None:
            with trio.fail_after(handshake_timeout_s):
                await accept(stream)
        await handler(stream)
    except trio.TooSlowError:
        log.warning("%s: closed connection from %s: handshake took longer than %.1f s",
                    transport, stream.peer, handshake_timeout_s)
    except (FrameError, HandshakeError) as exc:
        log.warning("%s: closed connection from %s: %s", transport, stream.peer, exc)
    except StreamClosed:
        pass
    except TransportError as exc:
        log.warning("%s: connection from %s failed: %s", transport, stream.peer, exc)
    except Exception:
        log.exception("%s: handler for %s crashed; closing that connection only", transport,
                      stream.peer)
    finally:
        await stream.aclose()
