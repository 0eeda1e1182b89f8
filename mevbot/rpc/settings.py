"""Settings of the JSON-RPC client ([rpc])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class RpcSettings:
    http_urls: list[str] = setting(factory=lambda: ["http://127.0.0.1:8547"], doc="JSON-RPC endpoints, in order of preference.")
    ws_urls: list[str] = setting(factory=list, doc="WebSocket endpoints for subscriptions (empty: poll).")
    timeout_s: float = setting(2.0, doc="Deadline of one RPC call.", reloadable=True)
    rate_per_s: float = setting(200.0, doc="Token-bucket rate per endpoint.", reloadable=True)
    burst: int = setting(50, doc="Token-bucket burst per endpoint.", reloadable=True)
