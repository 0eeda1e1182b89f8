"""Alerts: logged always, POSTed as JSON to a webhook (a real local HTTP server here),
rate-limited per kind, and a failing webhook never raises."""

from __future__ import annotations

import json
import logging

import trio

from mevbot.observability.alerts import Alerter


class WebhookServer:
    """A tiny HTTP server on a free loopback port that records each POSTed JSON body."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict] = []
        self.received = trio.Event()
        self.paths: list[str] = []

    async def _handle(self, stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some(4096)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += await stream.receive_some(4096)
        self.paths.append(head.split(b" ")[1].decode())
        self.bodies.append(json.loads(body))
        await stream.send_all(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await stream.aclose()
        self.received.set()
        self.received = trio.Event()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(listeners[0].socket.getsockname()[1])
        await trio.serve_listeners(self._handle, listeners)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_alert_is_posted_as_json_to_the_webhook_and_logged(caplog):
    caplog.set_level(logging.WARNING)
    server = WebhookServer()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        async with Alerter(f"http://127.0.0.1:{port}/hooks/tok123") as alerter:
            assert await alerter.alert("breaker_trip", "3 reverts in a row", failures=3, pool=b"\x01")
        nursery.cancel_scope.cancel()
    [body] = server.bodies
    assert server.paths == ["/hooks/tok123"]
    assert body["kind"] == "breaker_trip" and body["message"] == "3 reverts in a row"
    assert body["fields"] == {"failures": 3, "pool": "b'\\x01'"} and body["held_back"] == 0
    assert "ALERT breaker_trip: 3 reverts in a row (failures=3" in caplog.text


async def test_a_flapping_condition_is_rate_limited_per_kind_and_the_next_alert_says_how_many_were_held():
    server = WebhookServer()
    clock = Clock()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        async with Alerter(f"http://127.0.0.1:{port}/", min_interval_s=60, clock=clock) as alerter:
            results = [await alerter.alert("feed_stalled", f"no feed for {i}s") for i in range(10)]
            assert await alerter.alert("endpoint_down", "http://rpc is down")  # another kind passes
            clock.now += 61
            assert await alerter.alert("feed_stalled", "still no feed")
        nursery.cancel_scope.cancel()
    assert results == [True] + [False] * 9
    assert [b["kind"] for b in server.bodies] == ["feed_stalled", "endpoint_down", "feed_stalled"]
    assert server.bodies[-1]["held_back"] == 9
    assert alerter.suppressed == 9 and alerter.sent == 3


async def test_a_webhook_that_is_down_or_failing_is_logged_without_leaking_its_path_and_never_raises(caplog):
    caplog.set_level(logging.WARNING)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    dead_port = listeners[0].socket.getsockname()[1]
    await listeners[0].aclose()  # nothing listens there now: connection refused
    async with Alerter(f"http://127.0.0.1:{dead_port}/secret-token", timeout_s=2) as alerter:
        assert await alerter.alert("emergency_stop", "operator stop")
    assert alerter.webhook_failures == 1

    server = WebhookServer(status=500)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(server.run)
        async with Alerter(f"http://127.0.0.1:{port}/secret-token") as alerter:
            assert await alerter.alert("dead_letters_growing", "dlq +500 in 60s")
        nursery.cancel_scope.cancel()
    assert alerter.webhook_failures == 1 and "HTTP 500" in caplog.text
    assert "alert webhook http://127.0.0.1" in caplog.text and "secret-token" not in caplog.text


async def test_without_a_webhook_alerts_only_go_to_the_log(caplog):
    caplog.set_level(logging.WARNING)
    async with Alerter("") as alerter:
        assert await alerter.alert("endpoint_down", "all endpoints cooling down")
    assert "ALERT endpoint_down" in caplog.text and alerter.webhook_failures == 0
