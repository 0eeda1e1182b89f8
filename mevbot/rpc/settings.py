"""Settings of the JSON-RPC client ([rpc])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class RpcSettings:
    http_urls: list[str] = setting(factory=lambda: ["http://127.0.0.1:8547"], pattern=r"https?://", doc="JSON-RPC endpoints, in order of preference.")
    ws_urls: list[str] = setting(factory=list, pattern=r"wss?://", doc="WebSocket endpoints for subscriptions (empty: poll), and the first one for calls (calls_over_ws).")
    ws_connections: int = setting(3, min=1, max=16, doc="WebSocket connections for calls (calls_over_ws): one request on each at a time, since a node that does not set TCP_NODELAY holds its second answer in a row for our delayed ACK (40 ms).")
    calls_over_ws: bool = setting(True, doc="Make calls over one persistent WebSocket to ws_urls' first endpoint while it is connected (bench/rpc.py: eth_blockNumber 0.4 ms p50 against 1.5 ms for an httpx request), HTTP while it is down; false: HTTP only.")
    timeout_s: float = setting(2.0, gt=0, doc="Deadline of one RPC call.", reloadable=True)
    rate_per_s: float = setting(200.0, gt=0, doc="Token-bucket rate per endpoint.", reloadable=True)
    burst: int = setting(50, min=1, doc="Token-bucket burst per endpoint.", reloadable=True)
    rate_limit_wait_s: float = setting(
        5.0, reloadable=True, min=0,
        doc="Longest a call waits for a token of an endpoint's bucket; beyond it, RateLimited.")
    retries: int = setting(
        2, reloadable=True, min=0,
        doc="Extra attempts of an idempotent read after a transport error or timeout (sends: none).")
    retry_backoff_s: float = setting(
        0.05, reloadable=True, min=0,
        doc="Pause before trying an endpoint again within one call (doubles per repeat).")
    cooldown_s: float = setting(
        2.0, reloadable=True, min=0,
        doc="An endpoint that failed is skipped this long (doubling per failure, at most 16x).")
    poll_interval_s: float = setting(
        0.25, reloadable=True, gt=0,
        doc="Block monitor: eth_blockNumber polling period when no WebSocket endpoint is set.")
    log_range_blocks: int = setting(
        500, reloadable=True, min=1, doc="Block monitor: most blocks covered by one eth_getLogs.")
    ws_reconnect_s: float = setting(
        0.5, reloadable=True, gt=0,
        doc="First pause before reconnecting a dropped WebSocket (doubles up to 30 s).")
