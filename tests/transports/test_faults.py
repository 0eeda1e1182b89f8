"""Bad peers close only their own connection; the listener keeps serving everyone else."""

from __future__ import annotations

import logging
import struct

import pytest
import trio
import trio_websocket

from transports.errors import HandshakeError
from transports.framing import PREAMBLE, encode_frames
from transports.tcp import TcpTransport, split_address
from transports.websocket import PATH

from .conftest import SECRET, make_transport

BYTE_TRANSPORTS = ["unix", "tcp"]


async def raw_connect(kind: str, address: str, secret: bytes = SECRET):
    """A raw socket past the handshake, so the test can write arbitrary bytes."""
    if kind == "unix":
        sock = await trio.open_unix_socket(address)
        await sock.send_all(PREAMBLE)
        return sock
    stream = await TcpTransport(secret).connect(address)
    return stream.stream


async def read_until_closed(sock) -> None:
    with trio.fail_after(5):
        while await sock.receive_some(4096):
            pass


@pytest.mark.parametrize("kind", BYTE_TRANSPORTS)
@pytest.mark.parametrize("bad_bytes, reason", [
    (struct.pack("<I", 64 * 1024 * 1024) + b"x" * 10, "above the maximum"),
    (struct.pack("<I", 1000) + b"only a few bytes", "truncated frame"),
])
async def test_a_bad_frame_closes_that_connection_with_a_reason_and_others_keep_working(
        kind, bad_bytes, reason, caplog):
    caplog.set_level(logging.WARNING, "mevbot.transports")
    async with trio.open_nursery() as nursery:
        transport, address = make_transport(kind, nursery, max_frame=1024 * 1024)
        received = []

        async def handler(stream):
            while True:
                received.extend(await stream.receive_batch())

        bound = await nursery.start(transport.listen, address, handler)
        bad = await raw_connect(kind, bound)
        await bad.send_all(bad_bytes)
        if reason == "truncated frame":
            await bad.send_eof() if hasattr(bad, "send_eof") else None
        await read_until_closed(bad)
        assert reason in caplog.text

        good = await transport.connect(bound)
        await good.send(b"still serving")
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)  # polling a real condition with a deadline
        assert received == [b"still serving"]
        await good.aclose()
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("kind", BYTE_TRANSPORTS)
async def test_the_good_frames_in_front_of_an_oversize_one_are_delivered_before_the_close(kind, caplog):
    """One write: two good frames, then an oversize length. The receiver gets both, then the
    connection is closed with the reason (before, the read's good frames were dropped too)."""
    caplog.set_level(logging.WARNING, "mevbot.transports")
    async with trio.open_nursery() as nursery:
        transport, address = make_transport(kind, nursery, max_frame=1024)
        received, closed = [], trio.Event()

        async def handler(stream):
            try:
                while True:
                    received.extend(await stream.receive_batch())
            finally:
                closed.set()

        bound = await nursery.start(transport.listen, address, handler)
        bad = await raw_connect(kind, bound)
        await bad.send_all(encode_frames([b"first", b"second"]) + struct.pack("<I", 4096) + b"x" * 10)
        await read_until_closed(bad)
        with trio.fail_after(5):
            await closed.wait()
        assert received == [b"first", b"second"]
        assert "4096 bytes, above the maximum of 1024" in caplog.text
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("kind", BYTE_TRANSPORTS)
async def test_garbage_instead_of_the_preamble_is_refused(kind, caplog):
    caplog.set_level(logging.WARNING, "mevbot.transports")
    async with trio.open_nursery() as nursery:
        transport, address = make_transport(kind, nursery)
        bound = await nursery.start(transport.listen, address, lambda s: trio.sleep_forever())
        if kind == "unix":
            sock = await trio.open_unix_socket(bound)
        else:
            sock = await trio.open_tcp_stream(*split_address(bound))
        await sock.send_all(b"GET / HTTP/1.1\r\n\r\n" + bytes(64))
        await read_until_closed(sock)
        assert "not a mevbot peer" in caplog.text
        nursery.cancel_scope.cancel()


async def test_a_tcp_peer_without_the_shared_secret_is_refused(caplog):
    caplog.set_level(logging.WARNING, "mevbot.transports")
    async with trio.open_nursery() as nursery:
        server = TcpTransport(SECRET)
        accepted = []

        async def handler(stream):
            accepted.append(stream)

        bound = await nursery.start(server.listen, "127.0.0.1:0", handler)
        with pytest.raises(HandshakeError, match="did not prove the shared secret"):
            await TcpTransport(b"wrong-secret-of-16-bytes").connect(bound)
        # an impostor that ignores the server's proof and guesses a MAC is refused by the server
        sock = await trio.open_tcp_stream(*split_address(bound))
        await sock.send_all(PREAMBLE + bytes(16))
        await sock.send_all(bytes(32))
        await read_until_closed(sock)
        assert "unknown peer refused" in caplog.text
        assert accepted == []
        nursery.cancel_scope.cancel()


def test_a_short_shared_secret_is_rejected_up_front():
    with pytest.raises(HandshakeError, match="at least 16 bytes"):
        TcpTransport(b"short")


async def raw_websocket(nursery, address: str):
    """A plain trio-websocket client, so the test can send any message it likes."""
    return await trio_websocket.connect_websocket_url(nursery, f"ws://{address}{PATH}", None)


@pytest.mark.parametrize("message, reason, delivered", [
    (encode_frames([b"first", b"second"]) + struct.pack("<I", 4096) + b"x" * 10,
     "4096 bytes, above the maximum of 1024", [b"first", b"second"]),
    (encode_frames([b"whole"]) + struct.pack("<I", 100) + b"cut short", "truncated frame", []),
    ("a text message", "sent a text websocket message", []),
], ids=["oversize-after-good-frames", "truncated", "text"])
async def test_a_bad_websocket_message_closes_that_connection_and_others_keep_working(
        message, reason, delivered, caplog):
    """Over WebSocket a message is a batch of frames: the good frames before an oversize length
    are delivered, then the connection closes with the reason; a batch that ends mid-frame is
    refused whole (the stream cannot tell where the next message's frames begin); a text message
    is refused. The listener keeps serving a well-behaved client."""
    caplog.set_level(logging.WARNING, "mevbot.transports")
    async with trio.open_nursery() as nursery:
        transport, address = make_transport("websocket", nursery, max_frame=1024)
        received = []
        bad_done, good_arrived = trio.Event(), trio.Event()

        async def handler(stream):
            try:
                while True:
                    batch = await stream.receive_batch()
                    if batch == [b"still serving"]:
                        good_arrived.set()
                    else:
                        received.append(batch)
            finally:
                bad_done.set()  # the good client's connection is still open here

        bound = await nursery.start(transport.listen, address, handler)
        bad = await raw_websocket(nursery, bound)
        await bad.send_message(message)
        with trio.fail_after(5):
            await bad_done.wait()
            with pytest.raises(trio_websocket.ConnectionClosed):
                while True:
                    await bad.get_message()
        assert [f for batch in received for f in batch] == delivered
        assert reason in caplog.text

        good = await transport.connect(bound)
        await good.send(b"still serving")
        with trio.fail_after(5):
            await good_arrived.wait()
        await good.aclose()
        nursery.cancel_scope.cancel()
