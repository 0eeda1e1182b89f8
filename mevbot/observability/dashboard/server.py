"""The dashboard server: the page at ``GET /`` and live snapshots over ``/ws``, on one loopback port.

:func:`serve_dashboard` runs beside the bot's modules (the Bot starts it when
``[observability] enabled``). It subscribes to the bus (``drop-oldest``, so watching never slows
a publisher down), folds envelopes into a :class:`DashboardState`, and publishes a JSON snapshot
to every client when something changed, at most :data:`MAX_SNAPSHOTS_PER_S` times a second, and
at least every :data:`REFRESH_S` (module states and feed lag change without a message). A slow
client skips to the newest snapshot instead of queueing old ones.

Clients send pause/resume actions on the same WebSocket; they run as the bot's control commands
(see :mod:`mevbot.observability.dashboard.actions`) and are answered with
``{"type": "reply", "id": ..., "ok": ..., ...}``.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import time
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, wrap_server_stream

from mevbot.control.render import module_row
from mevbot.observability.dashboard.actions import parse_action, perform
from mevbot.observability.dashboard.errors import ActionRefused, BadDashboardMessage
from mevbot.observability.dashboard.http import (ReplayStream, is_websocket_upgrade, origin_allowed, parse_head,
                                                 read_head, response)
from mevbot.observability.dashboard.state import TOPICS, DashboardState

log = logging.getLogger("mevbot.observability.dashboard")

MAX_SNAPSHOTS_PER_S = 5.0
REFRESH_S = 1.0
READ_TIMEOUT_S = 5.0
#: Open connections served at once; more are answered 503 (a runaway tab cannot exhaust the bot).
MAX_CONNECTIONS = 64
QUEUE_SIZE = 1000


def load_page() -> bytes:
    return importlib.resources.files(__package__).joinpath("page.html").read_bytes()


class Dashboard:
    """The live state of one bot and its connected clients; see the module docstring."""

    def __init__(self, bot: Any, token: str, *, clock=time.time) -> None:
        self.bot = bot
        self.token = token
        self.clock = clock
        self.state = DashboardState()
        self.page = load_page()
        self.port: int | None = None
        self.clients = 0  # WebSocket clients now
        self.connections = 0  # TCP connections being handled now
        self.max_connections = MAX_CONNECTIONS
        self.read_timeout_s = READ_TIMEOUT_S  # for a request head, and for a WebSocket handshake
        self._changed = trio.Event()
        self._published = trio.Event()
        self._snapshot_text = ""
        self._snapshot_version = 0
        self._bad_payloads = 0

    # ---- state -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        manager = self.bot.manager
        health = manager.health()
        bot = {"health": health.state.value, "reason": health.reason, "pid": os.getpid(),
               "uptime_s": round(self.bot.uptime_s(), 1), "emergency_stop": bool(self.bot.emergency_stopped),
               "actions_enabled": bool(self.token), "clients": self.clients}
        modules = [module_row(status) for status in manager.statuses()]
        return self.state.snapshot(now_s=self.clock(), modules=modules, bot=bot)

    def publish(self) -> None:
        """Make a fresh snapshot the one every client sends next."""
        self._snapshot_text = json.dumps(self.snapshot(), separators=(",", ":"), default=str)
        self._snapshot_version += 1
        published, self._published = self._published, trio.Event()
        published.set()

    async def _collect(self, sub: Any) -> None:
        while True:
            for env in await sub.receive_batch():
                try:
                    self.state.observe(env.topic, env.payload, created_ns=env.created_ns, trace_id=env.trace_id)
                except (AttributeError, TypeError, ValueError) as exc:  # a bad payload costs a sample
                    self._bad_payloads += 1
                    log.warning("dashboard: cannot read %s from %s (%d so far): %r", env.topic, env.source,
                                self._bad_payloads, exc)
            self._changed.set()

    async def _publish_loop(self) -> None:
        while True:
            with trio.move_on_after(REFRESH_S):
                await self._changed.wait()
            self._changed = trio.Event()
            try:
                self.publish()
            except Exception as exc:  # the dashboard must never take the bot down; next round retries
                log.error("dashboard: cannot build a snapshot: %r", exc, exc_info=exc)
            await trio.sleep(1 / MAX_SNAPSHOTS_PER_S)  # rate limit: changes meanwhile coalesce

    # ---- connections -----------------------------------------------------------------

    async def handle(self, stream: trio.abc.Stream) -> None:
        """One TCP connection: the page, or a WebSocket client until it leaves."""
        self.connections += 1
        try:
            data = None  # a client that sends no head within the deadline gets a 400
            with trio.move_on_after(self.read_timeout_s):
                data = await read_head(stream)
            if self.connections > self.max_connections:  # answered after reading: closing unread resets
                await stream.send_all(response("503 Service Unavailable",
                                               f"more than {self.max_connections} dashboard connections\n".encode()))
                return
            head = parse_head(data) if data is not None else None
            if head is None:
                await stream.send_all(response("400 Bad Request", b"expected an HTTP/1.1 request head under 16 KiB\n"))
                return
            method, path, headers = head
            if is_websocket_upgrade(headers):
                if path != "/ws":
                    await stream.send_all(response("404 Not Found", b"the WebSocket is at /ws\n"))
                elif not origin_allowed(headers):
                    log.warning("dashboard: refused a WebSocket from origin %r", headers.get("origin"))
                    await stream.send_all(response("403 Forbidden", b"cross-origin WebSocket refused\n"))
                else:
                    await self._upgrade(ReplayStream(data, stream))
                return
            if method not in ("GET", "HEAD"):
                await stream.send_all(response("405 Method Not Allowed", b"only GET / and the WebSocket /ws\n"))
            elif path not in ("/", "/index.html"):
                await stream.send_all(response("404 Not Found", b"the dashboard is at / (WebSocket /ws)\n"))
            else:
                page = response("200 OK", self.page, "text/html; charset=utf-8")
                await stream.send_all(page if method == "GET" else page[:len(page) - len(self.page)])
        except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionClosed):
            pass  # the client went away
        except Exception as exc:  # one bad connection must not stop the dashboard
            log.warning("dashboard: connection failed: %r", exc)
        finally:
            self.connections -= 1
            await stream.aclose()

    async def _upgrade(self, stream: ReplayStream) -> None:
        async with trio.open_nursery() as nursery:
            request = await self._handshake(nursery, stream)
            if request is None:
                nursery.cancel_scope.cancel()
                return
            ws = await request.accept()
            self.clients += 1
            try:
                await self._converse(ws)
            finally:
                self.clients -= 1
                with trio.move_on_after(1) as cleanup:
                    cleanup.shield = True
                    await ws.aclose()
                nursery.cancel_scope.cancel()

    async def _handshake(self, nursery: trio.Nursery, stream: ReplayStream) -> WebSocketRequest | None:
        """The client's handshake, or None when it fails (trio-websocket then answers 400 and
        closes the stream, but would leave us waiting for a request forever) or takes too long."""

        async def give_up_when_closed(scope: trio.CancelScope) -> None:
            await stream.closed.wait()
            scope.cancel()

        with trio.move_on_after(self.read_timeout_s):
            async with trio.open_nursery() as watch:
                watch.start_soon(give_up_when_closed, watch.cancel_scope)
                request = await wrap_server_stream(nursery, stream)
                watch.cancel_scope.cancel()
                return request
        return None

    async def _converse(self, ws: WebSocketConnection) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._send_snapshots, ws)
            try:
                await self._answer_actions(ws)
            finally:
                nursery.cancel_scope.cancel()

    async def _send_snapshots(self, ws: WebSocketConnection) -> None:
        sent = 0
        while True:
            if self._snapshot_version > sent:
                sent = self._snapshot_version
                await ws.send_message(self._snapshot_text)
            else:
                await self._published.wait()

    async def _answer_actions(self, ws: WebSocketConnection) -> None:
        try:
            while True:
                message = await ws.get_message()
                await ws.send_message(json.dumps(await self.answer(message), default=str))
        except ConnectionClosed:
            return

    async def answer(self, message: str | bytes) -> dict[str, Any]:
        """The reply to one client message (never raises for bad input)."""
        try:
            action = parse_action(message)
        except BadDashboardMessage as exc:
            log.warning("dashboard: bad message: %s", exc)
            return {"type": "reply", "ok": False, "error": str(exc)}
        try:
            reply = await perform(self.bot.control, action, self.token)
        except ActionRefused as exc:
            log.warning("dashboard: %s %s refused: %s", action.action, action.module, exc)
            return {"type": "reply", "id": action.request_id, "ok": False, "error": str(exc)}
        self._changed.set()  # show the new module state now, not at the next refresh
        return {"type": "reply", "id": action.request_id, "action": action.action, **reply}

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self, port: int, *, host: str = "127.0.0.1", task_status=trio.TASK_STATUS_IGNORED) -> None:
        bus = self.bot.bus
        subs = [bus.subscribe(topic, name=f"dashboard:{topic}", queue_size=QUEUE_SIZE, overflow="drop-oldest")
                for topic in TOPICS] if bus is not None else []
        try:
            listeners = await trio.open_tcp_listeners(port, host=host)
            self.port = listeners[0].socket.getsockname()[1]
            async with trio.open_nursery() as nursery:
                for sub in subs:
                    nursery.start_soon(self._collect, sub)
                self.publish()
                nursery.start_soon(self._publish_loop)
                await nursery.start(trio.serve_listeners, self.handle, listeners)
                log.info("dashboard on http://%s:%d/ (actions %s)", host, self.port,
                         "enabled" if self.token else "disabled: no [observability] dashboard_token")
                task_status.started(self)
        finally:
            for sub in subs:
                sub.close()


async def serve_dashboard(bot: Any, settings: Any, *, port: int | None = None, host: str = "127.0.0.1",
                          task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve ``bot``'s dashboard on ``host:settings.dashboard_port`` until cancelled.

    ``settings`` is the :class:`~mevbot.observability.settings.ObservabilitySettings`; ``port``
    overrides its port (0 picks a free one, for tests). ``started()`` hands over the running
    :class:`Dashboard` (its ``port`` is the bound port).
    """
    dashboard = Dashboard(bot, settings.dashboard_token)
    await dashboard.run(settings.dashboard_port if port is None else port, host=host, task_status=task_status)
