"""Log decoders: pool and factory events to :class:`PoolUpdate` (``market.pool.update``).

Decodes Uniswap V2 ``Swap``/``Sync``, V3 ``Swap``/``Mint``/``Burn``/``Initialize`` and the
factories' ``PairCreated``/``PoolCreated``. Every field of these events is a static ABI type,
so the decoder reads 32-byte words directly and checks each word is a valid encoding of its
type (an address's 12 high bytes zero, a uint112 below 2**112, an int24 properly
sign-extended) instead of running a generic ABI decoder; tests cross-check it against
``eth_abi`` on logs emitted by the real contracts.

Anyone can emit an event shaped like ``Sync``; :class:`LogParser` therefore drops logs whose
emitter the registry does not know as a pool of the right kind (or as a factory), counting
them, when it is given a registry.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eth_utils import keccak

from mevbot.parser.errors import LogDecodeError, ParserError
from mevbot.parser.messages import PoolKind, PoolUpdate, PoolUpdateKind

log = logging.getLogger(__name__)


def _topic(signature: str) -> bytes:
    return keccak(text=signature)


EVENT_SIGNATURES = {
    "v2_swap": "Swap(address,uint256,uint256,uint256,uint256,address)",
    "v2_sync": "Sync(uint112,uint112)",
    "v3_swap": "Swap(address,address,int256,int256,uint160,uint128,int24)",
    "v3_mint": "Mint(address,address,int24,int24,uint128,uint256,uint256)",
    "v3_burn": "Burn(address,int24,int24,uint128,uint256,uint256)",
    "v3_initialize": "Initialize(uint160,int24)",
    "pair_created": "PairCreated(address,address,address,uint256)",
    "pool_created": "PoolCreated(address,address,uint24,int24,address)",
}
TOPICS: dict[bytes, PoolUpdateKind] = {
    _topic(sig): PoolUpdateKind(kind) for kind, sig in EVENT_SIGNATURES.items()
}
# How many topics (including topic0) and data words each event has.
_SHAPES = {
    PoolUpdateKind.V2_SWAP: (3, 4), PoolUpdateKind.V2_SYNC: (1, 2),
    PoolUpdateKind.V3_SWAP: (3, 5), PoolUpdateKind.V3_MINT: (4, 4),
    PoolUpdateKind.V3_BURN: (4, 3), PoolUpdateKind.V3_INITIALIZE: (1, 2),
    PoolUpdateKind.PAIR_CREATED: (3, 2), PoolUpdateKind.POOL_CREATED: (4, 2),
}
POOL_KIND_OF = {
    PoolUpdateKind.V2_SWAP: PoolKind.V2, PoolUpdateKind.V2_SYNC: PoolKind.V2,
    PoolUpdateKind.V3_SWAP: PoolKind.V3, PoolUpdateKind.V3_MINT: PoolKind.V3,
    PoolUpdateKind.V3_BURN: PoolKind.V3, PoolUpdateKind.V3_INITIALIZE: PoolKind.V3,
}


def _hex_bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{what} is not hex: {value[:80]!r}") from None
    raise ValueError(f"{what} should be hex text or bytes, got {type(value).__name__}")


def _quantity(value: Any, what: str) -> int | None:
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            raise ValueError(f"{what} is not a hex quantity: {value[:80]!r}") from None
    raise ValueError(f"{what} should be a hex quantity, got {type(value).__name__}")


class _Words:
    """Checked reads of ABI words from topics and data."""

    def __init__(self, address: str, kind: PoolUpdateKind, topics: Sequence[bytes], data: bytes) -> None:
        self.address = address
        self.kind = kind
        self.topics = topics
        self.data = data

    def _fail(self, where: str, problem: str) -> LogDecodeError:
        return LogDecodeError(address=self.address, event=self.kind.value, where=where, problem=problem)

    def word(self, i: int) -> bytes:
        return self.data[32 * i: 32 * i + 32]

    def uint(self, word: bytes, bits: int, where: str) -> int:
        value = int.from_bytes(word, "big")
        if value >> bits:
            raise self._fail(where, f"value does not fit uint{bits}: 0x{word.hex()}")
        return value

    def int_(self, word: bytes, bits: int, where: str) -> int:
        value = int.from_bytes(word, "big", signed=True)
        if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
            raise self._fail(where, f"value does not fit int{bits}: 0x{word.hex()}")
        return value

    def address_(self, word: bytes, where: str) -> str:
        if any(word[:12]):
            raise self._fail(where, f"address word has nonzero high bytes: 0x{word.hex()}")
        return "0x" + word[12:].hex()


def _envelope(entry: Any) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """(address, topics, data, blockNumber, logIndex, txHash, removed) of a JSON-RPC log dict
    or of an attribute-style log (``mevbot.rpc.chaindata.LogEntry``)."""
    if isinstance(entry, Mapping):
        return (entry.get("address"), entry.get("topics") or (), entry.get("data", "0x"),
                entry.get("blockNumber"), entry.get("logIndex"), entry.get("transactionHash"),
                entry.get("removed", False))
    return (getattr(entry, "address", None), getattr(entry, "topics", None) or (), getattr(entry, "data", b""),
            getattr(entry, "block_number", None), getattr(entry, "log_index", None),
            getattr(entry, "transaction_hash", None), getattr(entry, "removed", False))


def decode_log(entry: Any) -> PoolUpdate | None:
    """The pool update a log describes; None for events this parser does not handle.

    ``entry`` is a JSON-RPC log (hex strings, camelCase keys) or an attribute-style log such
    as the RPC client's ``LogEntry`` (bytes topics/data, int numbers). Raises
    :class:`LogDecodeError` when a log's topic0 names a handled event but its topics or data
    are not a valid encoding of that event.
    """
    address_raw = "?"
    try:
        address_raw, topics_raw, data_raw, block_raw, index_raw, tx_raw, removed_raw = _envelope(entry)
        if not topics_raw:
            return None
        topic0 = _hex_bytes(topics_raw[0], "topics[0]")
        kind = TOPICS.get(topic0)
        if kind is None:
            return None
        if not isinstance(address_raw, str) or len(address_raw) != 42:
            raise ValueError(f"emitter address should be 20 bytes of 0x-hex, got {address_raw!r}")
        _hex_bytes(address_raw, "address")
        address = address_raw.lower()
        topics = [_hex_bytes(t, f"topics[{i}]") for i, t in enumerate(topics_raw)]
        data = _hex_bytes(data_raw, "data")
        block_number = _quantity(block_raw, "blockNumber")
        log_index = _quantity(index_raw, "logIndex")
        tx_hash = None if tx_raw is None else "0x" + _hex_bytes(tx_raw, "transactionHash").hex()
        removed = bool(removed_raw)
    except ValueError as exc:
        raise LogDecodeError(address=str(address_raw)[:42], event="?", where="log envelope",
                             problem=str(exc)) from None
    except (TypeError, AttributeError, IndexError, KeyError) as exc:
        raise LogDecodeError(address=str(address_raw)[:42], event="?", where="log envelope",
                             problem=f"malformed log object: {exc!r}") from None

    n_topics, n_words = _SHAPES[kind]
    w = _Words(address, kind, topics, data)
    if len(topics) != n_topics:
        raise w._fail("topics", f"expected {n_topics} topics, got {len(topics)}")
    if any(len(t) != 32 for t in topics):
        raise w._fail("topics", "every topic must be 32 bytes")
    if len(data) != 32 * n_words:
        raise w._fail("data", f"expected {32 * n_words} bytes, got {len(data)}")
    common = dict(pool=address, block_number=block_number, log_index=log_index, tx_hash=tx_hash,
                  removed=removed)

    if kind is PoolUpdateKind.V2_SYNC:
        return PoolUpdate(kind, reserve0=w.uint(w.word(0), 112, "reserve0"),
                          reserve1=w.uint(w.word(1), 112, "reserve1"), **common)
    if kind is PoolUpdateKind.V2_SWAP:
        w.address_(topics[1], "sender")
        w.address_(topics[2], "to")
        in0, in1, out0, out1 = (w.uint(w.word(i), 256, f"data word {i}") for i in range(4))
        return PoolUpdate(kind, amount0=in0 - out0, amount1=in1 - out1, **common)
    if kind is PoolUpdateKind.V3_SWAP:
        w.address_(topics[1], "sender")
        w.address_(topics[2], "recipient")
        return PoolUpdate(
            kind, amount0=w.int_(w.word(0), 256, "amount0"), amount1=w.int_(w.word(1), 256, "amount1"),
            sqrt_price_x96=w.uint(w.word(2), 160, "sqrtPriceX96"),
            liquidity=w.uint(w.word(3), 128, "liquidity"), tick=w.int_(w.word(4), 24, "tick"), **common)
    if kind is PoolUpdateKind.V3_MINT:
        w.address_(topics[1], "owner")
        w.address_(w.word(0), "sender")
        return PoolUpdate(
            kind, tick_lower=w.int_(topics[2], 24, "tickLower"), tick_upper=w.int_(topics[3], 24, "tickUpper"),
            liquidity_delta=w.uint(w.word(1), 128, "amount"),
            amount0=w.uint(w.word(2), 256, "amount0"), amount1=w.uint(w.word(3), 256, "amount1"), **common)
    if kind is PoolUpdateKind.V3_BURN:
        w.address_(topics[1], "owner")
        return PoolUpdate(
            kind, tick_lower=w.int_(topics[2], 24, "tickLower"), tick_upper=w.int_(topics[3], 24, "tickUpper"),
            liquidity_delta=-w.uint(w.word(0), 128, "amount"),
            amount0=w.uint(w.word(1), 256, "amount0"), amount1=w.uint(w.word(2), 256, "amount1"), **common)
    if kind is PoolUpdateKind.V3_INITIALIZE:
        return PoolUpdate(kind, sqrt_price_x96=w.uint(w.word(0), 160, "sqrtPriceX96"),
                          tick=w.int_(w.word(1), 24, "tick"), **common)
    # Factory events: the emitter is the factory, the update is about the new pool.
    token0 = w.address_(topics[1], "token0")
    token1 = w.address_(topics[2], "token1")
    if kind is PoolUpdateKind.PAIR_CREATED:
        pool = w.address_(w.word(0), "pair")
        w.uint(w.word(1), 256, "allPairsLength")
        fee = tick_spacing = None
    else:
        fee = w.uint(topics[3], 24, "fee")
        tick_spacing = w.int_(w.word(0), 24, "tickSpacing")
        pool = w.address_(w.word(1), "pool")
    common["pool"] = pool
    return PoolUpdate(kind, token0=token0, token1=token1, fee_pips=fee, tick_spacing=tick_spacing,
                      factory=address, **common)


class LogParser:
    """Turns logs into pool updates; never raises on bad input, counts what it skips.

    ``counters`` keys: ``decoded``, ``unrelated`` (topic0 of no handled event), an error's
    ``kind`` (``log_decode_error``), ``unknown_emitter`` (a pool event from an address the
    registry does not hold as a pool of that kind, or a creation event from an unknown
    factory; only with a registry).
    """

    def __init__(self, registry: Any = None) -> None:
        self.registry = registry
        self.counters: collections.Counter[str] = collections.Counter()

    def parse(self, entry: Any) -> PoolUpdate | None:
        try:
            update = decode_log(entry)
        except ParserError as exc:
            self.counters[exc.kind] += 1
            log.warning("skipped a log: %s", exc)
            return None
        if update is None:
            self.counters["unrelated"] += 1
            return None
        if self.registry is not None and not self._emitter_known(update):
            self.counters["unknown_emitter"] += 1
            return None
        self.counters["decoded"] += 1
        return update

    def parse_many(self, entries: Sequence[Any]) -> list[PoolUpdate]:
        out = []
        for entry in entries:
            update = self.parse(entry)
            if update is not None:
                out.append(update)
        return out

    def _emitter_known(self, update: PoolUpdate) -> bool:
        if update.factory is not None:
            dex = self.registry.dex_of_factory(update.factory)
            if dex is None:
                return False
            # A new pool is known from here on, so its first Sync/Swap is not dropped; its
            # tokens' decimals are read later by PoolDiscovery.ensure_tokens.
            from mevbot.pools.registry import PoolInfo

            self.registry.add_pool(PoolInfo(
                update.pool, dex.name, dex.kind, update.token0, update.token1,
                update.fee_pips if update.fee_pips is not None else dex.fee_pips, update.tick_spacing))
            return True
        pool = self.registry.pool(update.pool)
        return pool is not None and pool.kind is POOL_KIND_OF[update.kind]
