"""Length-prefixed framing (pure logic, no I/O).

A frame on the wire is a little-endian u32 length followed by that many bytes. The decoder is
fed whatever ``receive_some`` returned and yields every complete frame in it, so one read of
64 KiB parses hundreds of small frames; it rejects a declared length above the configured
maximum as soon as the 4-byte prefix arrives, before buffering the body. Every byte connection
starts with the 4-byte :data:`PREAMBLE` so a stray client (HTTP, garbage) is refused at once.
"""

from __future__ import annotations

import struct

from transports.errors import FrameError

PREAMBLE = b"MVB\x01"
_LEN = struct.Struct("<I")
LENGTH_SIZE = _LEN.size
_pack_len = _LEN.pack
_unpack_len = _LEN.unpack_from


def encode_frames(frames) -> bytes:
    """Concatenate length-prefixed ``frames`` into one buffer (one send for many frames).

    The prefixes and frames are interleaved by slice assignment and ``map``, not a Python loop
    per frame: a coalesced batch has hundreds of them.
    """
    if not isinstance(frames, list):
        frames = list(frames)
    parts = frames * 2
    parts[::2] = map(_pack_len, map(len, frames))
    parts[1::2] = frames
    return b"".join(parts)


class FrameDecoder:
    """Incremental frame parser; see the module docstring."""

    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._pending = b""
        #: An oversize length found behind complete frames of the same read: those frames are
        #: returned first, and the connection's next read raises this.
        self.refused: FrameError | None = None

    def raise_refused(self) -> None:
        if self.refused is not None:
            raise self.refused

    @property
    def buffered(self) -> int:
        return len(self._pending)

    def take_raw(self, n: int) -> bytes | None:
        """The next ``n`` raw bytes (handshakes), or None when not yet buffered."""
        if len(self._pending) < n:
            return None
        raw, self._pending = self._pending[:n], self._pending[n:]
        return raw

    def feed_raw(self, data: bytes) -> None:
        self._pending += data

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every complete frame now available (possibly none).

        A frame the previous read cut off is completed with just the bytes of ``data`` it still
        needs, instead of joining the whole read onto it: with 256 KiB reads of 4 KiB frames
        almost every read starts inside a frame, and that join copied the entire read again."""
        self.raise_refused()
        frames: list[bytes] = []
        pos = 0
        pending = self._pending
        if pending:
            have = len(pending)
            if have < LENGTH_SIZE:  # the length prefix itself was cut
                if have + len(data) < LENGTH_SIZE:
                    self._pending = pending + data
                    return frames
                pending += data[:LENGTH_SIZE - have]
                pos = LENGTH_SIZE - have
                have = LENGTH_SIZE
            size = _unpack_len(pending)[0]
            self._refuse_above_limit(size)
            need = LENGTH_SIZE + size - have  # bytes of data that complete the frame
            if need <= 0:  # whole frames already buffered (feed_raw after a handshake)
                self._split(pending + data[pos:], 0, frames)
                return self._checked(frames)
            if need > len(data) - pos:
                self._pending = pending + data[pos:] if pos else pending + data
                return frames
            frames.append(pending[LENGTH_SIZE:] + memoryview(data)[pos:pos + need])
            pos += need
        self._split(data, pos, frames)
        return self._checked(frames)

    def _checked(self, frames: list[bytes]) -> list[bytes]:
        """``frames``; or, when an oversize length stopped the split before any, its error."""
        if not frames:
            self.raise_refused()
        return frames

    def _split(self, buf: bytes, pos: int, frames: list[bytes]) -> None:
        """Append the complete frames of ``buf`` from ``pos`` on; keep what is left as pending.
        An oversize length stops it: the frames before it are kept (nothing good is lost), and
        :attr:`refused` is set."""
        append = frames.append
        unpack_len = _unpack_len
        end = len(buf)
        limit = self.max_frame_bytes
        while True:
            start = pos + LENGTH_SIZE
            if start > end:
                break
            size = unpack_len(buf, pos)[0]
            if size > limit:
                self.refused = self._refusal(size)
                return
            stop = start + size
            if stop > end:
                break
            append(buf[start:stop])
            pos = stop
        self._pending = buf[pos:] if pos < end else b""

    def _refuse_above_limit(self, size: int) -> None:
        if size > self.max_frame_bytes:
            raise self._refusal(size)

    def _refusal(self, size: int) -> FrameError:
        """The error for a declared ``size`` above the maximum; nothing buffered is kept."""
        self._pending = b""
        return FrameError(f"frame declares {size} bytes, above the maximum of {self.max_frame_bytes} "
                          "(max_frame_bytes); closing this connection")

    def check_eof(self) -> None:
        """At end of stream: raise if a frame was cut off mid-way."""
        if self._pending:
            have = len(self._pending)
            need = (_unpack_len(self._pending)[0] + LENGTH_SIZE) if have >= LENGTH_SIZE else LENGTH_SIZE
            self._pending = b""
            raise FrameError(f"stream ended inside a frame: {have} of {need} bytes received "
                             "(truncated frame)")
