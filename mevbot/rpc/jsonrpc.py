"""JSON-RPC 2.0 framing: request bodies and the reading of answers (pure logic, no I/O).

Which methods are idempotent lives here too, because it is a property of the method, not of the
caller: a read may be sent again to the same or another node; a send may not (a second
``eth_sendRawTransaction`` after a timeout can be rejected as "already known" or, worse for other
send-like methods, act twice).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mevbot.rpc.errors import EndpointUnavailable, NodeError

IDEMPOTENT_METHODS = frozenset({
    "eth_blockNumber", "eth_chainId", "net_version", "web3_clientVersion", "eth_syncing",
    "eth_gasPrice", "eth_maxPriorityFeePerGas", "eth_feeHistory", "eth_blobBaseFee",
    "eth_getBalance", "eth_getCode", "eth_getStorageAt", "eth_getTransactionCount",
    "eth_getBlockByNumber", "eth_getBlockByHash", "eth_getBlockReceipts",
    "eth_getBlockTransactionCountByNumber", "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByHash", "eth_getTransactionReceipt",
    "eth_getTransactionByBlockNumberAndIndex", "eth_getTransactionByBlockHashAndIndex",
    "eth_getLogs", "eth_call", "eth_estimateGas", "eth_createAccessList", "eth_getProof",
    "eth_simulateV1", "debug_traceCall", "debug_traceTransaction",
})


def is_idempotent(method: str) -> bool:
    return method in IDEMPOTENT_METHODS


def request_object(request_id: int, method: str,
                   params: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Positional params become a list; named params (a mapping) pass as an object."""
    body_params = dict(params) if isinstance(params, Mapping) else list(params)
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body_params}


def encode(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def decode_body(raw: bytes, endpoint: str, method: str) -> Any:
    """Parse the HTTP body; anything that is not JSON means the endpoint is not serving RPC."""
    try:
        return json.loads(raw)
    except ValueError:
        shown = raw[:120].decode("utf-8", "replace")
        raise EndpointUnavailable(endpoint, method,
                                  f"answer is not JSON (first bytes: {shown!r})") from None


def read_response(obj: Any, endpoint: str, method: str) -> Any:
    """The ``result`` of one response object, or raise its error as :class:`NodeError`."""
    if not isinstance(obj, dict):
        raise EndpointUnavailable(endpoint, method,
                                  f"expected a JSON-RPC response object, got {type(obj).__name__}")
    error = obj.get("error")
    if error is not None:
        raise node_error(error, endpoint, method)
    if "result" not in obj:
        raise EndpointUnavailable(endpoint, method, "JSON-RPC response has neither result nor error")
    return obj["result"]


def node_error(error: Any, endpoint: str, method: str) -> NodeError:
    if isinstance(error, dict):
        code = error.get("code")
        return NodeError(code if isinstance(code, int) else -1, str(error.get("message", "")),
                         error.get("data"), endpoint, method)
    return NodeError(-1, str(error), None, endpoint, method)


def read_batch(obj: Any, ids: Sequence[int], methods: Sequence[str],
               endpoint: str) -> list[Any | NodeError]:
    """Results of a batch in request order; an item that failed is its :class:`NodeError`.

    Nodes may answer a batch in any order, so answers are matched by id. A batch rejected as a
    whole (one error object instead of a list, e.g. "batch too large") raises its NodeError.
    """
    label = f"batch of {len(ids)}"
    if isinstance(obj, dict) and obj.get("error") is not None:
        raise node_error(obj["error"], endpoint, label)
    if not isinstance(obj, list):
        raise EndpointUnavailable(endpoint, label,
                                  f"expected a JSON array for a batch, got {type(obj).__name__}")
    by_id: dict[Any, Any] = {}
    for item in obj:
        if isinstance(item, dict):
            by_id[item.get("id")] = item
    results: list[Any | NodeError] = []
    for request_id, method in zip(ids, methods):
        item = by_id.get(request_id)
        if item is None:
            raise EndpointUnavailable(endpoint, label,
                                      f"batch answer lacks the response to id {request_id} ({method})")
        try:
            results.append(read_response(item, endpoint, method))
        except NodeError as err:
            results.append(err)
    return results
