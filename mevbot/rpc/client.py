"""The JSON-RPC client: several HTTP endpoints, each rate-limited and health-scored.

``async with RpcClient.from_settings(settings) as rpc:`` opens one keep-alive ``httpx`` client
per endpoint (httpx runs on trio through its anyio/trio backend). Every call:

1. picks an endpoint: by preference among those not cooling down (:mod:`mevbot.rpc.health`);
2. waits for a token of that endpoint's bucket (:mod:`mevbot.rpc.ratelimit`), or raises
   :class:`RateLimited` if the wait would pass ``rate_limit_wait_s``;
3. posts under ``trio.fail_after(timeout_s)``.

An idempotent read (by method name, :data:`mevbot.rpc.jsonrpc.IDEMPOTENT_METHODS`) that hits a
transport error, a timeout or a rate limit is tried again on the next endpoint, up to
``max(len(endpoints), 1 + retries)`` attempts, and :class:`AllEndpointsFailed` lists them all.
A send is never repeated once it may have reached a node: a timeout raises :class:`RpcTimeout`
at once, because only the caller (nonce and receipt checks) can tell whether it landed. It moves
on only when the request provably never left (connection refused, our own bucket, HTTP 429).
A :class:`NodeError` is the node's answer and is raised as is, never retried.

Given a ``ws_url`` (``[rpc] ws_urls``' first, unless ``[rpc] calls_over_ws`` is off), calls go
over a few persistent WebSocket connections to it (:class:`~mevbot.rpc.ws_calls.WsCalls`, one
request on each at a time, ``ws_connections`` of them) while one is connected, rate-limited and health-scored like the HTTP endpoints: an httpx request costs about
a millisecond of the event loop here, a WebSocket frame a fraction of that. A call that never
left it (not connected), or an idempotent read that failed on it, takes the HTTP endpoints as
above; a send that may have left it is not repeated. :meth:`begin` puts a batch on the wire and
returns, so that the caller works while the node answers (the execution engine signs then).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import trio

from mevbot.rpc import jsonrpc
from mevbot.rpc.chaindata import (BlockId, LogEntry, block_param, log_filter, read_data, read_hash,
                                  read_log, read_quantity, to_data, to_quantity, tx_object)
from mevbot.rpc.errors import (AllEndpointsFailed, BadResponse, EndpointUnavailable, NodeError,
                               RateLimited, RpcTimeout)
from mevbot.rpc.endpoint import Endpoint
from mevbot.rpc.health import EndpointHealth, EndpointStats, attempt_order
from mevbot.rpc.inflight import RPC_IN_FLIGHT
from mevbot.rpc.ratelimit import TokenBucket
from mevbot.rpc.ws_calls import WsCalls

if TYPE_CHECKING:  # a runtime import would make `import mevbot.rpc.client` pull in all of config
    from mevbot.rpc.settings import RpcSettings

log = logging.getLogger(__name__)

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class RpcClient:
    def __init__(self, urls: Sequence[str], *, timeout_s: float = 2.0, rate_per_s: float = 200.0,
                 burst: int = 50, rate_limit_wait_s: float = 5.0, retries: int = 2,
                 retry_backoff_s: float = 0.05, cooldown_s: float = 2.0, ws_url: str | None = None,
                 ws_connections: int = 3) -> None:
        if not urls:
            raise ValueError("RpcClient needs at least one endpoint URL ([rpc] http_urls is empty)")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"[rpc] http_urls entry {url!r} is not an endpoint URL: "
                                 "expected http://host:port or https://...")
        self.urls = list(urls)
        self.timeout_s = timeout_s
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.rate_limit_wait_s = rate_limit_wait_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.cooldown_s = cooldown_s
        self._endpoints: list[Endpoint] = []
        self._ids = itertools.count(1)
        self.ws_url = ws_url
        self.ws_connections = max(1, ws_connections)
        self._ws_pool: list[WsCalls] = []
        self._ws_endpoint: Endpoint | None = None

    @classmethod
    def from_settings(cls, settings: RpcSettings) -> RpcClient:
        return cls(settings.http_urls, timeout_s=settings.timeout_s,
                   rate_per_s=settings.rate_per_s, burst=settings.burst,
                   rate_limit_wait_s=settings.rate_limit_wait_s, retries=settings.retries,
                   retry_backoff_s=settings.retry_backoff_s, cooldown_s=settings.cooldown_s,
                   ws_url=settings.ws_urls[0] if settings.ws_urls and settings.calls_over_ws else None,
                   ws_connections=settings.ws_connections)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> RpcClient:
        now = trio.current_time()
        for url in self.urls:
            # Deadlines are trio.fail_after at the call site, so httpx's own timeouts are off.
            http = httpx.AsyncClient(timeout=httpx.Timeout(None), headers=_HEADERS)
            self._endpoints.append(Endpoint(url, http, TokenBucket(self.rate_per_s, self.burst, now),
                                            EndpointHealth(url, self.cooldown_s)))
        if self.ws_url:
            for _ in range(self.ws_connections):
                self._ws_pool.append(await WsCalls(self.ws_url, timeout_s=self.timeout_s).__aenter__())
            self._ws_endpoint = Endpoint(self.ws_url, None, TokenBucket(self.rate_per_s, self.burst, now),
                                         EndpointHealth(self.ws_url, self.cooldown_s))
        return self

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the WebSocket (if any) to connect; whether calls use it."""
        if not self._ws_pool:
            return False
        with trio.move_on_after(timeout_s):
            for ws in self._ws_pool:
                await ws.wait_connected()
        return self._ws() is not None

    def _ws(self) -> WsCalls | None:
        """The connection for the next call: a free one, else the least busy (it waits there,
        behind at most a call or two); None while none is connected."""
        best = None
        for ws in self._ws_pool:
            if ws.is_connected:
                busy = ws.in_flight
                if busy == 0:
                    return ws
                if best is None or busy < best.in_flight:
                    best = ws
        return best

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        endpoints, self._endpoints = self._endpoints, []
        pool, self._ws_pool = self._ws_pool, []
        try:
            for ws in reversed(pool):  # their nurseries were opened out here, so they close out here, unshielded
                await ws.__aexit__(None, None, None)
        finally:
            await self._close_http(endpoints)

    async def _close_http(self, endpoints: list[Endpoint]) -> None:
        with trio.CancelScope(shield=True):
            for endpoint in endpoints:
                await endpoint.http.aclose()

    def apply_settings(self, settings: RpcSettings) -> None:
        """Take the reloadable keys of a new [rpc] section (endpoint URLs need a restart)."""
        self.timeout_s = settings.timeout_s
        self.rate_limit_wait_s = settings.rate_limit_wait_s
        self.retries = settings.retries
        self.retry_backoff_s = settings.retry_backoff_s
        self.cooldown_s = settings.cooldown_s
        self.rate_per_s, self.burst = settings.rate_per_s, settings.burst
        now = trio.current_time()
        for endpoint in self._all_endpoints():
            endpoint.bucket.reconfigure(now, settings.rate_per_s, settings.burst)
            endpoint.health.cooldown_s = settings.cooldown_s
        for ws in self._ws_pool:
            ws.timeout_s = settings.timeout_s

    def _all_endpoints(self) -> list[Endpoint]:
        return [*([self._ws_endpoint] if self._ws_endpoint is not None else []), *self._endpoints]

    def stats(self) -> list[EndpointStats]:
        """Per-endpoint counters, score and latency, in preference order (the WebSocket first)."""
        now = trio.current_time()
        return [endpoint.health.snapshot(now) for endpoint in self._all_endpoints()]

    # -- generic calls -----------------------------------------------------------------------

    async def call(self, method: str, params: Sequence[Any] = (), *,
                   idempotent: bool | None = None) -> Any:
        """Call ``method`` and return its ``result``; see the module docstring for failover."""
        if idempotent is None:
            idempotent = jsonrpc.is_idempotent(method)
        if (ws := self._ws()) is not None:
            answer = await self._over_ws(lambda: ws.call(method, params), method, idempotent)
            if answer is not _TAKE_HTTP:
                return answer
        request_id = next(self._ids)
        body = jsonrpc.encode(jsonrpc.request_object(request_id, method, params))
        url, obj = await self._request(method, body, idempotent)
        return jsonrpc.read_response(obj, url, method)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any | NodeError]:
        """Several calls in one HTTP request; results in order, a failed item is its NodeError.

        The batch is idempotent (and fails over) only if every method in it is. It costs one
        token: the bucket limits requests, which is what a node's connection handling pays for.
        """
        if not calls:
            return []
        methods = [method for method, _ in calls]
        idempotent = all(jsonrpc.is_idempotent(m) for m in methods)
        if (ws := self._ws()) is not None:
            answers = await self._over_ws(lambda: ws.batch(calls), f"batch of {len(calls)}", idempotent)
            if answers is not _TAKE_HTTP:
                return answers
        return await self._http_batch(calls, methods, idempotent)

    async def begin(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> Any:
        """Put a batch on the WebSocket now and return; ``await (...).answers()`` gives what
        :meth:`batch` would. Without a connected WebSocket the batch is made over HTTP when its
        answers are awaited (nothing is gained, nothing lost)."""
        if (ws := self._ws()) is not None:
            try:
                await self._ws_endpoint.acquire_token(self.rate_limit_wait_s)
                return _Measured(self, await ws.begin(calls), trio.current_time(),
                                 all(jsonrpc.is_idempotent(m) for m, _ in calls), list(calls))
            except EndpointUnavailable:
                self._record_failure(self._ws_endpoint)
        return _Deferred(self, list(calls))

    async def _http_batch(self, calls, methods: list[str], idempotent: bool) -> list[Any | NodeError]:
        ids = [next(self._ids) for _ in calls]
        body = jsonrpc.encode([jsonrpc.request_object(i, method, params)
                               for i, (method, params) in zip(ids, calls)])
        url, obj = await self._request(f"batch of {len(calls)}", body, idempotent)
        return jsonrpc.read_batch(obj, ids, methods, url)

    async def _over_ws(self, op, label: str, idempotent: bool) -> Any:
        """``op()``, a call on one of the WebSocket connections, rate-limited and health-scored;
        :data:`_TAKE_HTTP` where HTTP should answer instead (it never left, or a read failed)."""
        await self._ws_endpoint.acquire_token(self.rate_limit_wait_s)
        return await self._scored(op, trio.current_time(), label, idempotent)

    async def _scored(self, op, started: float, label: str, idempotent: bool) -> Any:
        """The answer of ``op()`` on the WebSocket since ``started``, recorded in its health; a
        transport failure is raised where a send may have left, else :data:`_TAKE_HTTP`."""
        endpoint = self._ws_endpoint
        try:
            answer = await op()
        except NodeError:
            endpoint.health.record_success(trio.current_time(), trio.current_time() - started)
            raise
        except (EndpointUnavailable, RpcTimeout) as err:
            self._record_failure(endpoint, timeout=isinstance(err, RpcTimeout))
            if not idempotent and getattr(err, "request_sent", True):
                raise  # a send may have left: only the caller can tell whether it landed
            log.info("rpc: %s failed on %s (%s); taking HTTP", label, endpoint.url, err)
            return _TAKE_HTTP
        endpoint.health.record_success(trio.current_time(), trio.current_time() - started)
        return answer

    async def _request(self, label: str, body: bytes, idempotent: bool) -> tuple[str, Any]:
        endpoints = self._endpoints
        if not endpoints:
            raise RuntimeError("RpcClient used outside its 'async with' block")
        max_attempts = max(len(endpoints), 1 + self.retries) if idempotent else len(endpoints)
        tried: Counter[int] = Counter()
        attempts: list[tuple[str, Any]] = []
        for _ in range(max_attempts):
            order = attempt_order([e.health for e in endpoints], trio.current_time())
            index = min(order, key=lambda i: (tried[i], order.index(i)))
            if tried[index]:
                await trio.sleep(self.retry_backoff_s * 2 ** (tried[index] - 1))
            tried[index] += 1
            endpoint = endpoints[index]
            try:
                return endpoint.url, await self._post(endpoint, label, body)
            except (RpcTimeout, EndpointUnavailable, RateLimited) as err:
                attempts.append((endpoint.url, err))
                maybe_sent = not isinstance(err, RateLimited) and getattr(err, "request_sent", True)
                if not idempotent and maybe_sent:
                    raise
                if len(attempts) < max_attempts:
                    log.info("rpc: %s failed on %s (%s); trying again", label, endpoint.url, err)
        raise AllEndpointsFailed(label, attempts)

    async def _post(self, endpoint: Endpoint, label: str, body: bytes) -> Any:
        """Post ``body`` to one endpoint and return the decoded JSON; record its health."""
        await endpoint.acquire_token(self.rate_limit_wait_s)
        health = endpoint.health
        started = trio.current_time()
        try:
            with trio.fail_after(self.timeout_s), RPC_IN_FLIGHT.held():
                response = await endpoint.http.post(endpoint.url, content=body)
                raw = response.content
        except trio.TooSlowError:
            self._record_failure(endpoint, timeout=True)
            raise RpcTimeout(endpoint.url, label, self.timeout_s) from None
        except httpx.ConnectError as err:
            self._record_failure(endpoint)
            raise EndpointUnavailable(endpoint.url, label, f"cannot connect: {err}",
                                      request_sent=False) from None
        except httpx.HTTPError as err:
            self._record_failure(endpoint)
            raise EndpointUnavailable(endpoint.url, label,
                                      f"{type(err).__name__}: {err}") from None
        if response.status_code == 429:
            health.record_rate_limited()
            retry_after = _retry_after(response)
            raise RateLimited(endpoint.url, "node answered HTTP 429", retry_after)
        try:
            obj = jsonrpc.decode_body(raw, endpoint.url, label)
        except EndpointUnavailable as err:
            self._record_failure(endpoint)
            if response.status_code != 200:
                raise EndpointUnavailable(endpoint.url, label,
                                          f"HTTP {response.status_code}: {err.reason}") from None
            raise
        was_failing = health.consecutive_failures > 0
        health.record_success(trio.current_time(), trio.current_time() - started)
        if was_failing:
            log.warning("rpc: endpoint %s answers again", endpoint.url)
        return obj

    def _record_failure(self, endpoint: Endpoint, *, timeout: bool = False) -> None:
        endpoint.health.record_failure(trio.current_time(), timeout=timeout)
        if endpoint.health.consecutive_failures == 1:
            log.warning("rpc: endpoint %s failing; cooling down for %.1f s", endpoint.url,
                        endpoint.health.cooldown_s)

    # -- the methods the bot uses ------------------------------------------------------------

    async def block_number(self) -> int:
        return read_quantity(await self.call("eth_blockNumber"), "eth_blockNumber")

    async def chain_id(self) -> int:
        return read_quantity(await self.call("eth_chainId"), "eth_chainId")

    async def gas_price(self) -> int:
        return read_quantity(await self.call("eth_gasPrice"), "eth_gasPrice")

    async def get_balance(self, address: str, block: BlockId = "latest") -> int:
        return read_quantity(await self.call("eth_getBalance", [address, block_param(block)]),
                             "eth_getBalance")

    async def get_transaction_count(self, address: str, block: BlockId = "latest") -> int:
        result = await self.call("eth_getTransactionCount", [address, block_param(block)])
        return read_quantity(result, "eth_getTransactionCount")

    async def get_block(self, block: BlockId, full_txs: bool = False) -> dict[str, Any] | None:
        """The raw block object (``None`` if the node does not have it yet);
        :func:`mevbot.rpc.chaindata.read_block_head` reads its header."""
        result = await self.call("eth_getBlockByNumber", [block_param(block), full_txs])
        if result is not None and not isinstance(result, dict):
            raise BadResponse("eth_getBlockByNumber", "expected a block object or null", result)
        return result

    async def get_logs(self, filter_: dict[str, Any]) -> list[LogEntry]:
        """``eth_getLogs``; int ``fromBlock``/``toBlock`` are accepted."""
        result = await self.call("eth_getLogs", [log_filter(filter_)])
        if not isinstance(result, list):
            raise BadResponse("eth_getLogs", "expected a list of logs", result)
        return [read_log(item, "eth_getLogs") for item in result]

    async def eth_call(self, to: str, data: bytes | str, block: BlockId = "latest",
                       **fields: Any) -> bytes:
        """``eth_call``; extra fields (``from``-> ``sender``, ``value``, ``gas``) go in the call
        object. A revert raises :class:`NodeError` whose ``data`` is the revert payload."""
        if "sender" in fields:
            fields["from"] = fields.pop("sender")
        call_object = tx_object({"to": to, "data": to_data(data), **fields})
        result = await self.call("eth_call", [call_object, block_param(block)])
        return read_data(result, "eth_call")

    async def estimate_gas(self, tx: dict[str, Any], block: BlockId | None = None) -> int:
        params: list[Any] = [tx_object(tx)]
        if block is not None:
            params.append(block_param(block))
        return read_quantity(await self.call("eth_estimateGas", params), "eth_estimateGas")

    async def send_raw_transaction(self, raw_tx: bytes | str) -> str:
        """Submit a signed transaction; returns its hash. Never repeated blindly (see module)."""
        result = await self.call("eth_sendRawTransaction", [to_data(raw_tx)])
        return read_hash(result, "eth_sendRawTransaction")

    async def get_transaction_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = await self.call("eth_getTransactionReceipt", [tx_hash])
        if result is not None and not isinstance(result, dict):
            raise BadResponse("eth_getTransactionReceipt", "expected a receipt or null", result)
        return result

    async def fee_history(self, block_count: int, newest: BlockId = "latest",
                          reward_percentiles: Sequence[float] = ()) -> dict[str, Any]:
        result = await self.call("eth_feeHistory", [to_quantity(block_count), block_param(newest),
                                                    list(reward_percentiles)])
        if not isinstance(result, dict):
            raise BadResponse("eth_feeHistory", "expected a fee history object", result)
        return result


_TAKE_HTTP = object()


class _Measured:
    """A batch begun on the WebSocket (:meth:`RpcClient.begin`): its answers, health-scored, and
    for a read that failed there, the HTTP endpoints' answers."""

    in_flight = True  # the node is working on it now

    def __init__(self, rpc: RpcClient, pending: Any, started: float, idempotent: bool, calls: list) -> None:
        self._rpc, self.pending, self._started, self._idempotent, self._calls = rpc, pending, started, idempotent, calls

    async def answers(self) -> list[Any | NodeError]:
        rpc = self._rpc
        answers = await rpc._scored(self.pending.answers, self._started, f"batch of {len(self._calls)}",
                                    self._idempotent)
        if answers is _TAKE_HTTP:
            return await rpc._http_batch(self._calls, [m for m, _ in self._calls], True)
        return answers


class _Deferred:
    """A batch :meth:`RpcClient.begin` could not put on a WebSocket: made when awaited."""

    in_flight = False

    def __init__(self, rpc: RpcClient, calls: list) -> None:
        self._rpc, self._calls = rpc, calls

    async def answers(self) -> list[Any | NodeError]:
        return await self._rpc.batch(self._calls)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
