"""Alerts: to the log always, and as a JSON POST to an optional webhook.

The kinds the bot raises are in :data:`KINDS` (a breaker trip, the emergency stop, an endpoint
down, a stalled feed, a growing dead letter queue). Each kind is rate-limited on its own: after
an alert of a kind is sent, further alerts of that kind within ``min_interval_s`` are counted and
held back, and the next one that goes out says how many were held back, so a flapping condition
cannot flood the log or the webhook. A webhook failure (refused, timed out, non-2xx) is logged
and counted, never raised: alerting must not break what it reports on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import trio

from mevbot.observability.metrics import count_alert

log = logging.getLogger("mevbot.alerts")

KINDS = ("breaker_trip", "emergency_stop", "endpoint_down", "feed_stalled", "dead_letters_growing")


class Alerter:
    def __init__(self, webhook_url: str = "", *, min_interval_s: float = 300.0, timeout_s: float = 5.0,
                 clock: Callable[[], float] = trio.current_time, log: logging.Logger = log) -> None:
        self.webhook_url = webhook_url
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self.clock = clock
        self.log = log
        self._last_sent: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._client: httpx.AsyncClient | None = None
        self.sent = 0
        self.suppressed = 0
        self.webhook_failures = 0

    async def __aenter__(self) -> Alerter:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def alert(self, kind: str, message: str, **fields: Any) -> bool:
        """Raise an alert; False when the kind's rate limit held it back."""
        now = self.clock()
        last = self._last_sent.get(kind)
        if last is not None and now - last < self.min_interval_s:
            self._held[kind] = self._held.get(kind, 0) + 1
            self.suppressed += 1
            count_alert(kind, suppressed=True)
            return False
        self._last_sent[kind] = now
        held = self._held.pop(kind, 0)
        self.sent += 1
        count_alert(kind)
        details = " ".join(f"{k}={v}" for k, v in fields.items())
        self.log.warning("ALERT %s: %s%s%s", kind, message, f" ({details})" if details else "",
                         f" [{held} similar held back]" if held else "")
        if self.webhook_url:
            body = {"kind": kind, "message": message, "time": time.time(), "held_back": held,
                    "fields": {k: v if isinstance(v, (int, float, bool, str, type(None))) else str(v)
                               for k, v in fields.items()}}
            await self._post(body)
        return True

    async def _post(self, body: dict) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        try:
            with trio.fail_after(self.timeout_s):
                response = await self._client.post(self.webhook_url, json=body)
            response.raise_for_status()
        except (httpx.HTTPError, trio.TooSlowError) as exc:
            self.webhook_failures += 1
            # httpx's messages can quote the full URL; only the status or the error type is logged.
            detail = (f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError)
                      else type(exc).__name__)
            self.log.error("alert webhook %s failed for %s alert: %s", _redact(self.webhook_url),
                           body["kind"], detail)


def _redact(url: str) -> str:
    """The webhook's scheme and host only: its path often holds a token (it is a secret key)."""
    try:
        parsed = httpx.URL(url)
        return f"{parsed.scheme}://{parsed.host}{':' + str(parsed.port) if parsed.port else ''}/..."
    except Exception:
        return "<webhook>"
