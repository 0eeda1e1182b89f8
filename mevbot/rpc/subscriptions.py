"""``eth_subscribe`` over a WebSocket (trio-websocket), kept alive across drops.

::

    async with open_subscription(ws_url, "newHeads") as heads:
        await heads.wait_subscribed()
        async for header in heads:      # the ``result`` of each eth_subscription notification
            ...

A background task owns the connection: it subscribes, forwards each notification into a memory
channel, and on a drop (closed socket, refused connection, no answer to the subscribe within
``timeout_s``) reconnects with a doubling back-off and subscribes again. Notifications sent while
disconnected are lost: a node does not replay them. Given several URLs, each reconnect after a
failure moves to the next one. Consumers that must not miss anything say
what to re-read in ``on_subscribed``, which runs after every (re)subscription and before that
connection's first notification is forwarded; the block monitor re-reads the head number there
and fills the gap by block number. A node that refuses the subscription itself raises
:class:`SubscriptionError` out of the ``async with``: retrying would not change its answer.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from mevbot.rpc.errors import SubscriptionError

log = logging.getLogger(__name__)

MAX_RECONNECT_S = 30.0
MAX_MESSAGE_BYTES = 16 * 2**20


class Subscription:
    """The consumer's end: iterate it for notification results."""

    def __init__(self, ws_urls: Sequence[str], kind: str,
                 receive: trio.MemoryReceiveChannel) -> None:
        self.ws_urls = list(ws_urls)
        self.ws_url = self.ws_urls[0]  # the one in use, or tried next
        self.kind = kind
        self.subscription_id: str | None = None
        self.reconnects = 0
        self.malformed_messages = 0
        self.error: SubscriptionError | None = None
        self._receive = receive
        self._first_subscribed = trio.Event()

    @property
    def is_subscribed(self) -> bool:
        return self.subscription_id is not None

    async def wait_subscribed(self) -> None:
        """Wait until the first subscription is in place (raises the node's refusal)."""
        await self._first_subscribed.wait()
        if self.error is not None:
            raise self.error

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            if self.error is not None:
                raise self.error from None
            raise StopAsyncIteration from None


@asynccontextmanager
async def open_subscription(
    ws_url: str | Sequence[str], kind: str, params: Any = None, *, timeout_s: float = 5.0,
    reconnect_s: float = 0.5, buffer: int = 1024,
    on_subscribed: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[Subscription]:
    """Subscribe to ``kind`` (``"newHeads"``, ``"logs"`` with a filter in ``params``)."""
    urls = [ws_url] if isinstance(ws_url, str) else list(ws_url)
    if not urls:
        raise ValueError(f"open_subscription({kind!r}) needs at least one WebSocket URL")
    send, receive = trio.open_memory_channel(buffer)
    subscription = Subscription(urls, kind, receive)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_maintain, subscription, params, send, timeout_s, reconnect_s,
                               on_subscribed)
            try:
                yield subscription
            finally:
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The nursery is an implementation detail: let the caller's own exception (or ours)
        # come out as itself, as trio-websocket does for its own nursery.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def _maintain(subscription: Subscription, params: Any, send: trio.MemorySendChannel,
                    timeout_s: float, reconnect_s: float,
                    on_subscribed: Callable[[], Awaitable[None]] | None) -> None:
    async with send:
        try:
            await _reconnect_forever(subscription, params, send, timeout_s, reconnect_s,
                                     on_subscribed)
        except SubscriptionError as err:
            log.error("rpc: %s", err)
            subscription.error = err
            subscription._first_subscribed.set()


async def _reconnect_forever(subscription: Subscription, params: Any,
                             send: trio.MemorySendChannel, timeout_s: float, reconnect_s: float,
                             on_subscribed: Callable[[], Awaitable[None]] | None) -> None:
    delay = reconnect_s
    outage_logged = False
    while True:
        try:
            async with open_websocket_url(subscription.ws_url, connect_timeout=timeout_s,
                                          disconnect_timeout=1.0,
                                          max_message_size=MAX_MESSAGE_BYTES) as ws:
                await _subscribe(ws, subscription, params, timeout_s)
                if outage_logged:
                    log.warning("rpc: %s subscription on %s restored", subscription.kind,
                                subscription.ws_url)
                delay, outage_logged = reconnect_s, False
                subscription._first_subscribed.set()
                if on_subscribed is not None:
                    await on_subscribed()
                await _forward(ws, subscription, send)
        except (ConnectionClosed, HandshakeError, OSError, trio.TooSlowError) as err:
            if not outage_logged:
                log.warning("rpc: %s subscription on %s dropped (%s: %s); reconnecting",
                            subscription.kind, subscription.ws_url, type(err).__name__, err)
                outage_logged = True
        finally:
            subscription.subscription_id = None
        subscription.reconnects += 1
        urls = subscription.ws_urls
        subscription.ws_url = urls[(urls.index(subscription.ws_url) + 1) % len(urls)]
        await trio.sleep(delay)  # back-off before reconnecting, not synchronisation
        delay = min(delay * 2, MAX_RECONNECT_S)


_request_ids = itertools.count(1)


async def _subscribe(ws: Any, subscription: Subscription, params: Any, timeout_s: float) -> None:
    request_id = next(_request_ids)
    args = [subscription.kind] if params is None else [subscription.kind, params]
    await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": request_id,
                                      "method": "eth_subscribe", "params": args}))
    with trio.fail_after(timeout_s):
        while True:
            obj = _parse(await ws.get_message(), subscription)
            if not isinstance(obj, dict) or obj.get("id") != request_id:
                continue
            if obj.get("error") is not None or not isinstance(obj.get("result"), str):
                raise SubscriptionError(
                    f"eth_subscribe {subscription.kind!r} refused by {subscription.ws_url}: "
                    f"{obj.get('error', obj)!r} (expected a subscription id)")
            subscription.subscription_id = obj["result"]
            return


async def _forward(ws: Any, subscription: Subscription, send: trio.MemorySendChannel) -> None:
    while True:
        obj = _parse(await ws.get_message(), subscription)
        if not isinstance(obj, dict) or obj.get("method") != "eth_subscription":
            continue
        notification = obj.get("params")
        if (not isinstance(notification, dict)
                or notification.get("subscription") != subscription.subscription_id
                or "result" not in notification):
            continue
        await send.send(notification["result"])


def _parse(message: str | bytes, subscription: Subscription) -> Any:
    try:
        return json.loads(message)
    except ValueError:
        subscription.malformed_messages += 1
        log.warning("rpc: %s subscription on %s: ignoring a message that is not JSON: %.120r",
                    subscription.kind, subscription.ws_url, message)
        return None
