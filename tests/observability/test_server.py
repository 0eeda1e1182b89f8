"""The exposition endpoint answers real HTTP GETs on loopback."""

from __future__ import annotations

import httpx
import trio
from prometheus_client import CollectorRegistry, Counter

from mevbot.observability import metrics
from mevbot.observability.server import serve_metrics


async def test_get_metrics_returns_the_prometheus_text_of_the_registry():
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, 0)
        metrics.observe_stage("decoded", 0.0003)
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
        nursery.cancel_scope.cancel()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'mevbot_stage_latency_seconds_count{stage="decoded"}' in response.text


async def test_other_paths_methods_and_garbage_get_clear_http_errors():
    registry = CollectorRegistry()
    Counter("only_this", "A lone counter.", registry=registry).inc()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(lambda task_status: serve_metrics(0, registry=registry, task_status=task_status))
        async with httpx.AsyncClient() as client:
            ok = await client.get(f"http://127.0.0.1:{port}/metrics")
            missing = await client.get(f"http://127.0.0.1:{port}/admin")
            post = await client.post(f"http://127.0.0.1:{port}/metrics", content=b"x")
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"NONSENSE\r\n\r\n")
        garbage = b""
        while chunk := await stream.receive_some(4096):
            garbage += chunk
        await stream.aclose()
        nursery.cancel_scope.cancel()
    assert "only_this_total 1.0" in ok.text and "mevbot_" not in ok.text
    assert missing.status_code == 404 and post.status_code == 405
    assert garbage.startswith(b"HTTP/1.1 400")


async def test_a_taken_port_is_a_typed_error_naming_host_port_and_the_setting():
    import pytest

    from mevbot.observability.errors import MetricsServerError

    taken = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = taken[0].socket.getsockname()[1]
    try:
        with pytest.raises(MetricsServerError, match=f"127.0.0.1:{port}.*metrics_port"):
            await serve_metrics(port)
    finally:
        await taken[0].aclose()
