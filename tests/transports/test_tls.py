"""TCP with TLS ([deploy] tls_cert/tls_key/tls_ca): the bus's TCP transport through trio.SSLStream.

The certificate is made by the openssl command line (no Python crypto package in the stack):
self-signed, for IP 127.0.0.1, and used both as the listener's certificate and as the CA.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest
import trio

import mevbot.config  # noqa: F401  (import order: see tests/bus/conftest.py)
from mevbot.bus.bus import Bus
from mevbot.bus.settings import BusSettings, DeploySettings
from transports.errors import HandshakeError
from transports.tcp import TcpTransport

from tests.bus.messages import Tick

SECRET = "0123456789abcdef-tls-test-secret"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=mevbot-test", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return str(cert), str(key)


async def test_two_buses_talk_over_tls_with_the_hmac_handshake_inside(certificate):
    cert, key = certificate
    deploy = DeploySettings(secret=SECRET, tls_cert=cert, tls_key=key, tls_ca=cert)
    a = Bus(BusSettings(persist_path=""), process="a", deploy=deploy)
    b = Bus(BusSettings(persist_path=""), process="b", deploy=deploy)
    transport = b._transport("tcp")
    assert transport.server_ssl is not None and transport.client_ssl is not None
    sub = b.subscribe("t")
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(b.serve, transport, "127.0.0.1:0")
        nursery.start_soon(a.dial, "b", a._transport("tcp"), bound)
        with trio.fail_after(10):
            while not a.links.get("b") or not a.links["b"].wants("t"):
                await trio.sleep(0.01)  # polling a real condition with a deadline
            await a.publish("t", Tick(7, "over tls"))
            assert (await sub.receive()).payload == Tick(7, "over tls")
        nursery.cancel_scope.cancel()


async def test_a_client_that_does_not_trust_the_certificate_is_refused(certificate):
    cert, key = certificate
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)
    server = TcpTransport(SECRET, server_ssl=server_ssl)
    stranger = TcpTransport(SECRET, client_ssl=ssl.create_default_context())  # system CAs only

    async def handler(stream):
        raise AssertionError("an untrusted client must never get a stream")

    async with trio.open_nursery() as nursery:
        bound = await nursery.start(server.listen, "127.0.0.1:0", handler)
        with trio.fail_after(10), pytest.raises(HandshakeError, match="dropped the handshake") as refused:
            await stranger.connect(bound)
        assert "certificate verify failed" in str(refused.value)
        nursery.cancel_scope.cancel()
