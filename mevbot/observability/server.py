"""The Prometheus exposition endpoint: ``GET /metrics`` over plain HTTP/1.1, from a trio task.

prometheus-client ships WSGI and threaded servers; the bot runs on trio, so this is a minimal
HTTP handler on ``trio.serve_listeners`` around :func:`prometheus_client.generate_latest`. It
reads one request head (bounded), answers it and closes the connection, which is all a scraper
needs. It listens on loopback only: metrics are not for the outside world.
"""

from __future__ import annotations

import logging

import trio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from mevbot.observability.errors import MetricsServerError
from mevbot.observability.metrics import REGISTRY

log = logging.getLogger("mevbot.observability")

MAX_HEAD_BYTES = 8192
READ_TIMEOUT_S = 5.0


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


async def _read_head(stream: trio.abc.Stream) -> bytes | None:
    head = b""
    while b"\r\n\r\n" not in head:
        if len(head) > MAX_HEAD_BYTES:
            return None
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        head += chunk
    return head


def respond(head: bytes | None, registry: CollectorRegistry) -> bytes:
    """The whole HTTP response to one request head (pure, apart from reading the registry)."""
    if head is None:
        return _response("400 Bad Request", b"expected an HTTP/1.1 request head under 8 KiB\n")
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) != 3:
        return _response("400 Bad Request", b"malformed request line\n")
    method, target = parts[0], parts[1].split(b"?", 1)[0]
    if method not in (b"GET", b"HEAD"):
        return _response("405 Method Not Allowed", b"only GET /metrics\n")
    if target not in (b"/metrics", b"/"):
        return _response("404 Not Found", b"only GET /metrics\n")
    body = generate_latest(registry)
    response = _response("200 OK", body, CONTENT_TYPE_LATEST)
    return response[:len(response) - len(body)] if method == b"HEAD" else response


async def serve_metrics(port: int, *, host: str = "127.0.0.1", registry: CollectorRegistry = REGISTRY,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``registry`` on ``host:port`` (0 picks a free port); ``started(bound port)``."""

    async def handle(stream: trio.SocketStream) -> None:
        try:
            with trio.move_on_after(READ_TIMEOUT_S):
                head = await _read_head(stream)
                await stream.send_all(respond(head, registry))
        except trio.BrokenResourceError:
            pass  # the scraper went away; nothing to answer
        except Exception as exc:  # one bad request must not stop the endpoint
            log.warning("metrics endpoint: request failed: %r", exc)
        finally:
            await stream.aclose()

    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise MetricsServerError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; "
                                 "expected a free port ([observability] metrics_port)") from exc
    bound = listeners[0].socket.getsockname()[1]
    log.info("metrics on http://%s:%d/metrics", host, bound)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, handle, listeners)
        task_status.started(bound)
