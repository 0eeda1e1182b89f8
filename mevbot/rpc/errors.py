"""The RPC client's few exception classes.

Callers branch on the type: :class:`NodeError` means the node answered and said no (a revert, a
bad nonce): retrying elsewhere would give the same answer. :class:`RpcTimeout`,
:class:`EndpointUnavailable` and :class:`RateLimited` are about one endpoint, so an idempotent
read fails over; :class:`AllEndpointsFailed` is what a caller sees once every attempt failed, and
it names each endpoint with its own error.
"""

from __future__ import annotations

from typing import Any


class RpcError(Exception):
    """Base class of every error raised by :mod:`mevbot.rpc`."""


class RpcTimeout(RpcError):
    """An endpoint did not answer ``method`` within ``seconds``."""

    def __init__(self, endpoint: str, method: str, seconds: float) -> None:
        self.endpoint = endpoint
        self.method = method
        self.seconds = seconds
        super().__init__(f"{method} on {endpoint} timed out after {seconds:g} s "
                         "(expected an answer within the [rpc] timeout_s deadline)")


class RateLimited(RpcError):
    """No request slot for ``endpoint`` in time: our own token bucket, or the node's HTTP 429."""

    def __init__(self, endpoint: str, reason: str = "local token bucket empty",
                 retry_after_s: float | None = None) -> None:
        self.endpoint = endpoint
        self.reason = reason
        self.retry_after_s = retry_after_s
        hint = f"; next slot in {retry_after_s:.3f} s" if retry_after_s is not None else ""
        super().__init__(f"rate limited on {endpoint}: {reason}{hint}")


class NodeError(RpcError):
    """The node answered with a JSON-RPC error object (``code``, ``message``, optional ``data``).

    For a revert, ``data`` is the hex revert payload (e.g. ``0x08c379a0...`` for ``Error(string)``).
    """

    def __init__(self, code: int, message: str, data: Any = None, endpoint: str = "",
                 method: str = "") -> None:
        self.code = code
        self.message = message
        self.data = data
        self.endpoint = endpoint
        self.method = method
        where = f"{method} on {endpoint}" if endpoint else method or "request"
        extra = f" data={data!r}" if data is not None else ""
        super().__init__(f"{where} failed with node error {code}: {message}{extra}")


class EndpointUnavailable(RpcError):
    """The endpoint could not be reached, or answered with something that is not JSON-RPC."""

    def __init__(self, endpoint: str, method: str, reason: str, *, request_sent: bool = True) -> None:
        self.endpoint = endpoint
        self.method = method
        self.reason = reason
        # False only when the request provably never left (connection refused): then even a
        # send may go to another endpoint.
        self.request_sent = request_sent
        super().__init__(f"{method} on {endpoint}: endpoint unavailable ({reason})")


class BadResponse(RpcError):
    """A well-formed JSON-RPC answer whose result is not what the method promises."""

    def __init__(self, method: str, problem: str, value: Any = None) -> None:
        self.method = method
        self.problem = problem
        self.value = value
        shown = repr(value)
        if len(shown) > 200:
            shown = shown[:200] + "..."
        super().__init__(f"{method} returned an unexpected result: {problem} (got {shown})")


class AllEndpointsFailed(RpcError):
    """Every attempt of one call failed; ``attempts`` lists ``(endpoint, error)`` in order."""

    def __init__(self, method: str, attempts: list[tuple[str, RpcError]]) -> None:
        self.method = method
        self.attempts = attempts
        detail = "; ".join(f"{url}: {type(err).__name__}: {err}" for url, err in attempts)
        super().__init__(f"{method} failed on every endpoint after {len(attempts)} attempt(s): "
                         f"{detail}")


class SubscriptionError(RpcError):
    """A WebSocket subscription was refused by the node (``eth_subscribe`` returned an error)."""
