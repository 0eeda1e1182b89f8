"""JSON-RPC calls over one persistent WebSocket (trio-websocket), for the latency-critical path.

The execution engine's simulation and send are the only round trips between an opportunity and
its transaction, and an ``httpx`` request costs about a millisecond of Python per call on trio
(request and response models, the connection pool, h11), several times the node's own work.
A WebSocket frame costs a fraction of that, and the node keeps the connection open anyway::

    async with WsCalls(ws_url) as calls:
        pending = await calls.begin([("eth_call", [tx, "latest"]), ...])   # sent now
        ...                                                                 # other work meanwhile
        answers = await pending.answers()                                  # as RpcClient.batch
        tx_hash = await calls.send_raw_transaction(raw_tx)

A background task owns the connection: it connects, reads every answer and hands it to the call
waiting for its id, and on a drop reconnects with a doubling back-off. One request is on a
connection at a time (a second waits for the first's answer): nodes do not set TCP_NODELAY on
their WebSocket (anvil does not), so their second answer in a row waits in the kernel for our
delayed ACK of the first, 40 ms (bench/rpc.py: two at once on one connection p99 44 ms).
:class:`~mevbot.rpc.client.RpcClient` keeps a few connections for calls that overlap, and takes
its HTTP endpoints while they are down. While it is down, a call raises
:class:`EndpointUnavailable` with ``request_sent=False``. A call in flight when
the connection drops raises :class:`EndpointUnavailable` with ``request_sent=True``: a send may
have landed, and only the caller (by hash, by nonce) can tell. A call unanswered within
``timeout_s`` raises :class:`RpcTimeout`. An answer that is not JSON, or names no waiting id, is
counted and logged, and the connection goes on.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from typing import Any

import trio
from trio_websocket import ConnectionClosed, HandshakeError, open_websocket_url

from mevbot.rpc import jsonrpc
from mevbot.rpc.chaindata import read_hash, to_data
from mevbot.rpc.errors import BadResponse, EndpointUnavailable, NodeError, RpcTimeout
from mevbot.rpc.inflight import RPC_IN_FLIGHT

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 64 * 2**20  # a wide eth_getLogs answer; a bigger one drops the link and HTTP answers
MAX_RECONNECT_S = 30.0


class Pending:
    """A request on the wire; :meth:`answers` (a batch) or :meth:`result` (one call) waits for it."""

    def __init__(self, calls: WsCalls, ids: list[int], methods: list[str], label: str) -> None:
        self._calls = calls
        self.ids = ids
        self.methods = methods
        self.label = label
        self._done = trio.Event()
        self._answer: Any = None
        self._lost: str | None = None  # why the connection went before the answer came
        self._finished = False
        RPC_IN_FLIGHT.started()

    def _finish(self) -> None:
        """The connection is free for the next request (once per request)."""
        if not self._finished:
            self._finished = True
            self._calls._slot.release()
            RPC_IN_FLIGHT.ended()

    def _deliver(self, answer: Any) -> None:
        self._answer = answer
        self._done.set()
        self._finish()

    def _drop(self, reason: str) -> None:
        self._lost = reason
        self._done.set()
        self._finish()

    async def _wait(self) -> Any:
        calls = self._calls
        try:
            with trio.fail_after(calls.timeout_s):
                await self._done.wait()
        except trio.TooSlowError:
            raise RpcTimeout(calls.url, self.label, calls.timeout_s) from None
        finally:
            for request_id in self.ids:
                calls._waiting.pop(request_id, None)
            self._finish()
        if self._lost is not None:
            raise EndpointUnavailable(calls.url, self.label, self._lost, request_sent=True)
        return self._answer

    async def answers(self) -> list[Any | NodeError]:
        """The batch's results in request order, a failed item as its NodeError (as
        :meth:`RpcClient.batch <mevbot.rpc.client.RpcClient.batch>`)."""
        return jsonrpc.read_batch(await self._wait(), self.ids, self.methods, self._calls.url)

    async def result(self) -> Any:
        """The one call's ``result``; its error raised as :class:`NodeError`."""
        return jsonrpc.read_response(await self._wait(), self._calls.url, self.methods[0])


class WsCalls:
    def __init__(self, url: str, *, timeout_s: float = 2.0, reconnect_s: float = 0.5) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"WebSocket RPC endpoint {url!r} is not a ws:// or wss:// URL")
        self.url = url
        self.timeout_s = timeout_s
        self.reconnect_s = reconnect_s
        self.reconnects = 0
        self.malformed_messages = 0
        self._ids = itertools.count(1)
        self._waiting: dict[int, Pending] = {}
        self._ws: Any = None
        self._slot = trio.Semaphore(1)  # one request on the connection at a time (module docstring)
        self._connected = trio.Event()
        self._nursery: trio.Nursery | None = None

    @property
    def is_connected(self) -> bool:
        return self._ws is not None

    @property
    def in_flight(self) -> int:
        """Requests on the connection or waiting for it (0: a call now is sent at once)."""
        return 1 - self._slot.value + self._slot.statistics().tasks_waiting

    async def __aenter__(self) -> WsCalls:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        self._nursery.start_soon(self._maintain)
        return self

    async def __aexit__(self, *exc_info: object) -> bool | None:
        self._nursery.cancel_scope.cancel()
        try:
            return await self._nursery_cm.__aexit__(*exc_info)
        except BaseExceptionGroup as group:
            # the nursery is an implementation detail: the caller's own exception comes out as itself
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def wait_connected(self) -> None:
        """Wait until the socket is connected (a caller that wants the fast path for its next call)."""
        await self._connected.wait()

    # -- calls ----------------------------------------------------------------------------------

    async def begin(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> Pending:
        """Send a batch as soon as the connection is free and return; ``await (...).answers()``
        for its results."""
        calls = list(calls)
        if not calls:
            raise ValueError("an empty batch")
        return await self._begin(calls, single=False)

    async def _begin(self, calls: list[tuple[str, Sequence[Any]]], *, single: bool) -> Pending:
        if self._ws is None:
            raise self._not_connected(calls)
        await self._slot.acquire()
        ws = self._ws  # it may have dropped while this call waited for the one before
        if ws is None:
            self._slot.release()
            raise self._not_connected(calls)
        ids = [next(self._ids) for _ in calls]
        methods = [method for method, _ in calls]
        body: Any = [jsonrpc.request_object(i, method, params) for i, (method, params) in zip(ids, calls)]
        if single:
            body = body[0]
        pending = Pending(self, ids, methods, f"batch of {len(calls)}" if len(calls) > 1 else methods[0])
        return await self._send(ws, pending, body)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any | NodeError]:
        return await (await self.begin(calls)).answers()

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        return await (await self._begin([(method, params)], single=True)).result()

    async def send_raw_transaction(self, raw_tx: bytes | str) -> str:
        return read_hash(await self.call("eth_sendRawTransaction", [to_data(raw_tx)]),
                         "eth_sendRawTransaction")

    async def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = await self.call("eth_getTransactionReceipt", [tx_hash])
        if result is not None and not isinstance(result, dict):
            raise BadResponse("eth_getTransactionReceipt", "expected a receipt or null", result)
        return result

    def _not_connected(self, calls: list[tuple[str, Sequence[Any]]]) -> EndpointUnavailable:
        return EndpointUnavailable(self.url, calls[0][0], "WebSocket not connected", request_sent=False)

    async def _send(self, ws: Any, pending: Pending, body: Any) -> Pending:
        for request_id in pending.ids:
            self._waiting[request_id] = pending
        try:
            await ws.send_message(json.dumps(body, separators=(",", ":")))
        except BaseException as exc:
            for request_id in pending.ids:
                self._waiting.pop(request_id, None)
            pending._finish()
            if isinstance(exc, ConnectionClosed):
                # a closed socket refuses the message before any byte of it leaves
                raise EndpointUnavailable(self.url, pending.label, f"WebSocket closed: {exc}",
                                          request_sent=False) from None
            raise
        return pending

    # -- the connection -------------------------------------------------------------------------

    async def _maintain(self) -> None:
        delay = self.reconnect_s
        outage_logged = False
        while True:
            try:
                async with open_websocket_url(self.url, connect_timeout=self.timeout_s, disconnect_timeout=1.0,
                                              max_message_size=MAX_MESSAGE_BYTES) as ws:
                    self._ws = ws
                    self._connected.set()
                    if outage_logged:
                        log.warning("rpc: WebSocket calls to %s restored", self.url)
                    delay, outage_logged = self.reconnect_s, False
                    await self._read(ws)
            except Exception as err:  # noqa: BLE001 - whatever broke the link, the caller falls back
                reason = f"{type(err).__name__}: {err}"
                if not isinstance(err, (ConnectionClosed, HandshakeError, OSError, trio.TooSlowError)):
                    log.exception("rpc: WebSocket calls to %s: unexpected error", self.url)
                if not outage_logged:
                    log.warning("rpc: WebSocket calls to %s dropped (%s); reconnecting, calls fail unsent "
                                "meanwhile", self.url, reason)
                    outage_logged = True
            else:
                reason = "closed"
            finally:
                self._ws = None
                if self._connected.is_set():
                    self._connected = trio.Event()  # wait_connected() waits for the next connection
            for pending in set(self._waiting.values()):
                pending._drop(f"WebSocket dropped before the answer ({reason})")
            self._waiting.clear()
            self.reconnects += 1
            await trio.sleep(delay)  # back-off before reconnecting, not synchronisation
            delay = min(delay * 2, MAX_RECONNECT_S)

    async def _read(self, ws: Any) -> None:
        while True:
            message = await ws.get_message()
            try:
                obj = json.loads(message)
            except ValueError:
                self._malformed("not JSON", message)
                continue
            first = obj[0] if isinstance(obj, list) and obj else obj
            pending = self._waiting.get(first.get("id")) if isinstance(first, dict) else None
            if pending is None:
                self._malformed("answers no waiting call", message)
                continue
            pending._deliver(obj)

    def _malformed(self, why: str, message: str | bytes) -> None:
        self.malformed_messages += 1
        log.warning("rpc: WebSocket %s: ignoring a message that %s: %.120r", self.url, why, message)
