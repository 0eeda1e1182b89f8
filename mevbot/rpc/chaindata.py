"""Chain data as the rest of the bot sees it, read from JSON-RPC values (pure logic, no I/O).

JSON-RPC speaks hex strings ("quantities" without leading zeros, "data" as even-length hex);
the bot speaks ints and bytes. These functions convert at the edge and raise
:class:`~mevbot.rpc.errors.BadResponse` naming the field when a node sends something else, so a
malformed answer is a typed error at the boundary rather than a ``ValueError`` deep inside.
Hashes and addresses stay lowercase ``0x`` strings: they are used as keys and in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from mevbot.rpc.errors import BadResponse

BlockId = int | str  # a block number, or a tag: "latest", "pending", "safe", "finalized", "earliest"


def to_quantity(value: int) -> str:
    if value < 0:
        raise ValueError(f"a JSON-RPC quantity cannot be negative, got {value}")
    return hex(value)


def block_param(block: BlockId) -> str:
    """A block number as a quantity; a tag or a hash passes through."""
    return to_quantity(block) if isinstance(block, int) else block


def to_data(value: bytes | str) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    return value if value.startswith("0x") else "0x" + value


def read_quantity(value: Any, what: str) -> int:
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) > 2:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise BadResponse(what, "expected a hex quantity like '0x1a'", value)


def read_data(value: Any, what: str) -> bytes:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise BadResponse(what, "expected even-length hex data like '0x00ff'", value)


def read_hash(value: Any, what: str, size: int = 32) -> str:
    raw = read_data(value, what)
    if len(raw) != size:
        raise BadResponse(what, f"expected {size} bytes", value)
    return "0x" + raw.hex()


def _field(obj: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return obj[key]
    except (KeyError, TypeError):
        raise BadResponse(what, f"missing field {key!r}", obj) from None


@attrs.frozen
class BlockHead:
    """A block header: what ``chain.head`` carries."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int
    gas_limit: int
    gas_used: int
    base_fee_per_gas: int | None


@attrs.frozen
class LogEntry:
    """One event log, as ``eth_getLogs`` or a ``logs`` subscription delivers it."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int
    removed: bool = False


@attrs.frozen
class BlockLogs:
    """The logs of the watched addresses in one block, in log-index order."""

    block_number: int
    block_hash: str
    logs: tuple[LogEntry, ...]


def read_block_head(obj: Any, what: str = "block") -> BlockHead:
    if not isinstance(obj, Mapping):
        raise BadResponse(what, "expected a block object", obj)
    base_fee = obj.get("baseFeePerGas")
    return BlockHead(
        number=read_quantity(_field(obj, "number", what), f"{what}.number"),
        hash=read_hash(_field(obj, "hash", what), f"{what}.hash"),
        parent_hash=read_hash(_field(obj, "parentHash", what), f"{what}.parentHash"),
        timestamp=read_quantity(_field(obj, "timestamp", what), f"{what}.timestamp"),
        gas_limit=read_quantity(_field(obj, "gasLimit", what), f"{what}.gasLimit"),
        gas_used=read_quantity(_field(obj, "gasUsed", what), f"{what}.gasUsed"),
        base_fee_per_gas=None if base_fee is None else read_quantity(base_fee,
                                                                     f"{what}.baseFeePerGas"),
    )


def read_log(obj: Any, what: str = "log") -> LogEntry:
    if not isinstance(obj, Mapping):
        raise BadResponse(what, "expected a log object", obj)
    topics = _field(obj, "topics", what)
    if not isinstance(topics, list):
        raise BadResponse(f"{what}.topics", "expected a list", topics)
    return LogEntry(
        address=read_hash(_field(obj, "address", what), f"{what}.address", size=20),
        topics=tuple(read_data(t, f"{what}.topics") for t in topics),
        data=read_data(_field(obj, "data", what), f"{what}.data"),
        block_number=read_quantity(_field(obj, "blockNumber", what), f"{what}.blockNumber"),
        block_hash=read_hash(_field(obj, "blockHash", what), f"{what}.blockHash"),
        transaction_hash=read_hash(_field(obj, "transactionHash", what),
                                   f"{what}.transactionHash"),
        transaction_index=read_quantity(_field(obj, "transactionIndex", what),
                                        f"{what}.transactionIndex"),
        log_index=read_quantity(_field(obj, "logIndex", what), f"{what}.logIndex"),
        removed=bool(obj.get("removed", False)),
    )


def log_filter(filter_: Mapping[str, Any]) -> dict[str, Any]:
    """An ``eth_getLogs`` filter with int block numbers turned into quantities."""
    out = dict(filter_)
    for key in ("fromBlock", "toBlock"):
        if isinstance(out.get(key), int):
            out[key] = to_quantity(out[key])
    return out


def tx_object(tx: Mapping[str, Any]) -> dict[str, Any]:
    """A call/transaction object with int fields as quantities and bytes as data."""
    out: dict[str, Any] = {}
    for key, value in tx.items():
        if isinstance(value, bool):
            out[key] = value
        elif isinstance(value, int):
            out[key] = to_quantity(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            out[key] = to_data(value)
        else:
            out[key] = value
    return out
