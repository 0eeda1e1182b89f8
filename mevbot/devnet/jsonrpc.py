"""A minimal JSON-RPC client for the devnet node, over httpx (sync and async twins).

The devnet talks to one local anvil it started itself, so it needs no failover or rate
limiting (that is mevbot.rpc's job for the bot); it needs plain calls, batches, and errors that
name the method. The request/response handling is shared; only the transport differs.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from mevbot.devnet.errors import ChainRpcError

_ids = itertools.count(1)


def _request(method: str, params: list[Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}


def _unwrap(method: str, reply: Any) -> Any:
    if not isinstance(reply, dict):
        raise ChainRpcError(method, f"expected a JSON object as reply, got {type(reply).__name__}")
    if reply.get("error") is not None:
        error = reply["error"]
        if isinstance(error, dict):
            raise ChainRpcError(method, str(error.get("message")), code=error.get("code"), data=error.get("data"))
        raise ChainRpcError(method, str(error))
    if "result" not in reply:
        raise ChainRpcError(method, "reply has neither result nor error")
    return reply["result"]


def _unwrap_batch(calls: list[tuple[str, list[Any]]], requests: list[dict[str, Any]], replies: Any) -> list[Any]:
    if not isinstance(replies, list):
        raise ChainRpcError("batch", f"expected a JSON array as reply, got {type(replies).__name__}")
    by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
    return [_unwrap(method, by_id.get(req["id"])) for (method, _), req in zip(calls, requests)]


class SyncChainRpc:
    """Blocking client: the deployer and the pytest fixture's helpers use it."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)

    def call(self, method: str, *params: Any) -> Any:
        try:
            response = self._client.post(self.url, json=_request(method, list(params)))
        except httpx.HTTPError as exc:
            raise ChainRpcError(method, f"no answer from {self.url}: {exc}") from exc
        return _unwrap(method, response.json())

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SyncChainRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ChainRpc:
    """Async client: the feed relay and the noise traders use it (httpx runs on trio)."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def call(self, method: str, *params: Any) -> Any:
        try:
            response = await self._client.post(self.url, json=_request(method, list(params)))
        except httpx.HTTPError as exc:
            raise ChainRpcError(method, f"no answer from {self.url}: {exc}") from exc
        return _unwrap(method, response.json())

    async def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in the order of ``calls``."""
        if not calls:
            return []
        requests = [_request(method, params) for method, params in calls]
        try:
            response = await self._client.post(self.url, json=requests)
        except httpx.HTTPError as exc:
            raise ChainRpcError("batch", f"no answer from {self.url}: {exc}") from exc
        return _unwrap_batch(calls, requests, response.json())

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ChainRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
