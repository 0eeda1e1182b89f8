"""The pool registry: which pools and tokens exist, and their immutable facts.

It answers the parser's question "which pool does this swap touch, and is it one we know?"
and the pipeline's "what are this pool's tokens, fee, tick spacing and decimals?". Facts come
from the deployment manifest and from discovery on chain (factory ``PairCreated`` /
``PoolCreated`` logs, ``getPair`` / ``getPool``, then ``token0``/``token1``/``fee``/
``tickSpacing``/``decimals``/``symbol``). Everything learnt is written to SQLite (tables
``pools``, ``tokens``, ``scan_progress``) so that a restart reads it back instead of asking
the chain again: these facts never change once a pool is deployed.

Lookups are pure dict reads. Discovery is the only I/O; it takes injected async callables
(``eth_call(to, data, block) -> bytes``, ``get_logs(filter) -> list[dict]``) so the RPC
client stays someone else's concern, and it runs independent reads concurrently in a trio
nursery bounded by a capacity limiter.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import attrs
import trio
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from mevbot.parser.messages import PoolKind
from mevbot.parser.pool_address import sort_tokens, v2_pair_address, v3_pool_address
from mevbot.pools.errors import DiscoveryError, ManifestError, RegistryError

log = logging.getLogger(__name__)

EthCall = Callable[..., Awaitable[bytes]]
GetLogs = Callable[[dict], Awaitable[list[dict]]]
# Many eth_calls in one JSON-RPC batch: [(to, data)] -> [bytes, or the exception of that call].
CallBatch = Callable[[list[tuple[str, bytes]]], Awaitable[list[Any]]]

ZERO_ADDRESS = "0x" + "00" * 20
V2_DEFAULT_FEE_PIPS = 3000

UNISWAP_V2_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
UNISWAP_V3_INIT_CODE_HASH = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


SEL_GET_PAIR = _selector("getPair(address,address)")
SEL_GET_POOL = _selector("getPool(address,address,uint24)")
SEL_TOKEN0 = _selector("token0()")
SEL_TOKEN1 = _selector("token1()")
SEL_FEE = _selector("fee()")
SEL_TICK_SPACING = _selector("tickSpacing()")
SEL_DECIMALS = _selector("decimals()")
SEL_SYMBOL = _selector("symbol()")
TOPIC_PAIR_CREATED = _topic("PairCreated(address,address,address,uint256)")
TOPIC_POOL_CREATED = _topic("PoolCreated(address,address,uint24,int24,address)")


def normalize_address(value: Any, where: str) -> str:
    """A lowercase 0x-hex address from a manifest or RPC value, or a ManifestError."""
    if not isinstance(value, str) or len(value) != 42 or value[:2] not in ("0x", "0X"):
        raise ManifestError(where, f"expected a 0x-prefixed 20-byte hex address, got {value!r}")
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        raise ManifestError(where, f"expected hex digits, got {value!r}") from None
    return value.lower()


@attrs.frozen
class DexInfo:
    """A DEX deployment: its factory and the init code hash that fixes its pool addresses."""

    name: str
    kind: PoolKind
    factory: str
    init_code_hash: str | None = None
    fee_pips: int = V2_DEFAULT_FEE_PIPS  # V2 only: the pair's swap fee (0.3% for Uniswap V2)


@attrs.frozen
class PoolInfo:
    address: str
    dex: str
    kind: PoolKind
    token0: str
    token1: str
    fee_pips: int
    tick_spacing: int | None = None  # V3 only


@attrs.frozen
class TokenInfo:
    address: str
    decimals: int
    symbol: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (
    address TEXT PRIMARY KEY, dex TEXT NOT NULL, kind TEXT NOT NULL,
    token0 TEXT NOT NULL, token1 TEXT NOT NULL, fee_pips INTEGER NOT NULL, tick_spacing INTEGER
);
CREATE TABLE IF NOT EXISTS tokens (
    address TEXT PRIMARY KEY, decimals INTEGER NOT NULL, symbol TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scan_progress (
    factory TEXT PRIMARY KEY, last_block INTEGER NOT NULL
);
"""


class PoolRegistry:
    """Known DEXes, pools and tokens, backed by SQLite (``":memory:"`` when not persisted)."""

    def __init__(self, db_path: str = ":memory:", dexes: Iterable[DexInfo] = ()) -> None:
        self.dexes: dict[str, DexInfo] = {}
        self._dex_by_factory: dict[str, DexInfo] = {}
        self._pools: dict[str, PoolInfo] = {}
        self._by_key: dict[tuple[str, str, str, int | None], PoolInfo] = {}
        self._tokens: dict[str, TokenInfo] = {}
        for dex in dexes:
            self.add_dex(dex)
        try:
            self._db = sqlite3.connect(db_path)
            self._db.executescript(_SCHEMA)
            for row in self._db.execute(
                "SELECT address, dex, kind, token0, token1, fee_pips, tick_spacing FROM pools"
            ):
                self._index(PoolInfo(row[0], row[1], PoolKind(row[2]), row[3], row[4], row[5], row[6]))
            for address, decimals, symbol in self._db.execute("SELECT address, decimals, symbol FROM tokens"):
                self._tokens[address] = TokenInfo(address, decimals, symbol)
        except (sqlite3.Error, ValueError) as exc:
            raise RegistryError(f"pool registry database {db_path} is unusable ({exc}); "
                                f"move it aside and the registry rebuilds it from the chain") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PoolRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- DEXes -----------------------------------------------------------------------------

    def add_dex(self, dex: DexInfo) -> None:
        self.dexes[dex.name] = dex
        self._dex_by_factory[dex.factory] = dex

    def dex(self, name: str) -> DexInfo:
        try:
            return self.dexes[name]
        except KeyError:
            raise RegistryError(f"unknown DEX {name!r}; the manifest names {sorted(self.dexes)}") from None

    def dex_of_factory(self, factory: str) -> DexInfo | None:
        return self._dex_by_factory.get(factory.lower())

    # -- pools -----------------------------------------------------------------------------

    def _key(self, pool: PoolInfo) -> tuple[str, str, str, int | None]:
        return (pool.dex, pool.token0, pool.token1, pool.fee_pips if pool.kind is PoolKind.V3 else None)

    def _index(self, pool: PoolInfo) -> None:
        self._pools[pool.address] = pool
        self._by_key[self._key(pool)] = pool

    def add_pool(self, pool: PoolInfo) -> None:
        """Remember a pool (idempotent) and persist it."""
        self.add_pools([pool])

    def add_pools(self, pools: Iterable[PoolInfo]) -> None:
        """Remember pools and persist the new ones in one SQLite transaction (one fsync for a
        whole factory scan, not one per pool)."""
        new = [p for p in pools if self._pools.get(p.address) != p]
        if not new:
            return
        for pool in new:
            self._index(pool)
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO pools VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(p.address, p.dex, p.kind.value, p.token0, p.token1, p.fee_pips, p.tick_spacing) for p in new])

    def pool(self, address: str) -> PoolInfo | None:
        return self._pools.get(address.lower())

    def pools(self) -> list[PoolInfo]:
        return list(self._pools.values())

    def find_pool(self, dex: str, token_a: str, token_b: str, fee_pips: int | None = None) -> PoolInfo | None:
        """The known pool of a DEX for two tokens (and a fee tier for V3), or None."""
        a, b = token_a.lower(), token_b.lower()
        token0, token1 = (a, b) if a < b else (b, a)
        info = self.dexes.get(dex)
        fee = fee_pips if info is not None and info.kind is PoolKind.V3 else None
        return self._by_key.get((dex, token0, token1, fee))

    def pool_address(self, dex: str, token_a: str, token_b: str, fee_pips: int | None = None) -> str | None:
        """The CREATE2 address a DEX's router would call, or None without an init code hash."""
        info = self.dexes.get(dex)
        if info is None or info.init_code_hash is None or token_a.lower() == token_b.lower():
            return None
        if info.kind is PoolKind.V2:
            return v2_pair_address(info.factory, info.init_code_hash, token_a, token_b)
        if fee_pips is None:
            return None
        return v3_pool_address(info.factory, info.init_code_hash, token_a, token_b, fee_pips)

    # -- tokens ----------------------------------------------------------------------------

    def add_token(self, token: TokenInfo) -> None:
        self.add_tokens([token])

    def add_tokens(self, tokens: Iterable[TokenInfo]) -> None:
        new = [t for t in tokens if self._tokens.get(t.address) != t]
        if not new:
            return
        for token in new:
            self._tokens[token.address] = token
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)",
                                 [(t.address, t.decimals, t.symbol) for t in new])

    def token(self, address: str) -> TokenInfo | None:
        return self._tokens.get(address.lower())

    def tokens(self) -> list[TokenInfo]:
        return list(self._tokens.values())

    # -- discovery progress ----------------------------------------------------------------

    def scanned_up_to(self, factory: str) -> int | None:
        row = self._db.execute("SELECT last_block FROM scan_progress WHERE factory = ?",
                               (factory.lower(),)).fetchone()
        return None if row is None else row[0]

    def mark_scanned(self, factory: str, last_block: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO scan_progress VALUES (?, ?)", (factory.lower(), last_block))
        self._db.commit()

    # -- manifest --------------------------------------------------------------------------

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any], db_path: str = ":memory:") -> PoolRegistry:
        registry = cls(db_path)
        registry.load_manifest(manifest)
        return registry

    def load_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Take the DEXes, tokens and pools a deployment manifest names."""
        for dex in dexes_from_manifest(manifest):
            self.add_dex(dex)
        for i, entry in enumerate(_entries(manifest.get("tokens", ()))):
            where = f"tokens[{i}]"
            try:
                self.add_token(TokenInfo(
                    normalize_address(entry["address"], f"{where}.address"),
                    int(entry["decimals"]), str(entry.get("symbol", ""))))
            except (KeyError, TypeError, ValueError) as exc:
                raise ManifestError(where, f"expected address, decimals and symbol ({exc!r})") from None
        self.add_pools([self._pool_from_manifest(entry, f"pools[{i}]")
                        for i, entry in enumerate(_entries(manifest.get("pools", ())))])

    def _pool_from_manifest(self, entry: Mapping[str, Any], where: str) -> PoolInfo:
        try:
            dex_name = str(entry["dex"])
        except (KeyError, TypeError):
            raise ManifestError(where, "expected a 'dex' naming one of the manifest's DEXes") from None
        dex = self.dexes.get(dex_name)
        if dex is None:
            raise ManifestError(f"{where}.dex", f"unknown DEX {dex_name!r}; known: {sorted(self.dexes)}")
        address = normalize_address(entry.get("address"), f"{where}.address")
        try:
            token0, token1 = sort_tokens(normalize_address(entry.get("token0"), f"{where}.token0"),
                                         normalize_address(entry.get("token1"), f"{where}.token1"))
        except ValueError as exc:
            raise ManifestError(f"{where}.token1", str(exc)) from None
        fee = entry.get("fee_pips", entry.get("fee"))
        if dex.kind is PoolKind.V3 and fee is None:
            raise ManifestError(f"{where}.fee", "a V3 pool needs its fee tier in pips")
        tick_spacing = entry.get("tick_spacing")
        try:
            return PoolInfo(address, dex.name, dex.kind, token0, token1,
                            int(fee) if fee is not None else dex.fee_pips,
                            int(tick_spacing) if tick_spacing is not None else None)
        except (TypeError, ValueError):
            raise ManifestError(where, f"fee {fee!r} and tick_spacing {tick_spacing!r} should be integers") from None


def _entries(section: Any) -> list[Mapping[str, Any]]:
    """A manifest section as a list of entries: a list as is, a name-keyed dict as its values
    (with the key as ``name``/``symbol`` when the entry lacks one)."""
    if isinstance(section, Mapping):
        out = []
        for key, value in section.items():
            if isinstance(value, str):
                value = {"address": value}
            out.append({"name": key, "symbol": key, **value})
        return out
    return list(section)


def dexes_from_manifest(manifest: Mapping[str, Any]) -> list[DexInfo]:
    """The DEXes of a manifest.

    The devnet manifest (mevbot/devnet/deploy.py) names them under ``contracts``: an entry
    with a ``factory`` is a DEX, V3 when it has a ``swap_router`` or ``pool_init_code_hash``,
    with the init code hash its pools are deployed from. An explicit ``dexes`` list (name,
    kind, factory, init_code_hash, fee_pips) is read too, for deployments described by hand.
    """
    out = []
    for name, entry in (manifest.get("contracts") or {}).items():
        if not isinstance(entry, Mapping) or "factory" not in entry:
            continue
        is_v3 = "swap_router" in entry or "pool_init_code_hash" in entry
        init_hash = entry.get("pool_init_code_hash") if is_v3 else entry.get("pair_init_code_hash")
        out.append(_dex(name, "v3" if is_v3 else "v2", entry, init_hash, f"contracts.{name}"))
    for i, entry in enumerate(_entries(manifest.get("dexes", ()))):
        out.append(_dex(entry.get("name"), entry.get("kind"), entry, entry.get("init_code_hash"), f"dexes[{i}]"))
    return out


def _dex(name: Any, kind_text: Any, entry: Mapping[str, Any], init_hash: Any, where: str) -> DexInfo:
    try:
        kind = PoolKind(str(kind_text).lower())
    except ValueError:
        raise ManifestError(f"{where}.kind", f"expected 'v2' or 'v3', got {kind_text!r}") from None
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{where}.name", f"expected a DEX name, got {name!r}")
    if init_hash is None:
        init_hash = UNISWAP_V2_INIT_CODE_HASH if kind is PoolKind.V2 else UNISWAP_V3_INIT_CODE_HASH
    return DexInfo(name, kind, normalize_address(entry.get("factory"), f"{where}.factory"),
                   str(init_hash).lower(), int(entry.get("fee_pips", V2_DEFAULT_FEE_PIPS)))


def weth_from_manifest(manifest: Mapping[str, Any]) -> str | None:
    weth = (manifest.get("contracts") or {}).get("weth9")
    return normalize_address(weth, "contracts.weth9") if weth is not None else None


# -- discovery -------------------------------------------------------------------------------

def _decode_word_address(data: bytes, contract: str, call: str) -> str:
    if len(data) < 32 or any(data[:12]):
        raise DiscoveryError(contract, call, f"expected an ABI address word, got 0x{data[:64].hex()}")
    return "0x" + data[12:32].hex()


def _decode_word_int(data: bytes, contract: str, call: str, *, signed: bool = False) -> int:
    if len(data) < 32:
        raise DiscoveryError(contract, call, f"expected a 32-byte word, got {len(data)} bytes")
    return int.from_bytes(data[:32], "big", signed=signed)


def decode_symbol(data: bytes) -> str:
    """ERC-20 ``symbol()``: an ABI string, or a bytes32 on old tokens (MKR, SAI)."""
    try:
        return str(abi_decode(["string"], data)[0])
    except Exception:  # noqa: BLE001 - any undecodable string falls through to bytes32
        if len(data) == 32:
            return data.rstrip(b"\x00").decode("utf-8", "replace")
        return ""


class PoolDiscovery:
    """Finds pools on chain and fills the registry, asking only for what it does not hold.

    Independent reads go out together: as one JSON-RPC batch per ``batch_size`` calls when a
    ``call_batch`` function is given, otherwise as concurrent ``eth_call`` s (at most
    ``max_concurrency`` in flight).
    """

    def __init__(self, registry: PoolRegistry, eth_call: EthCall, get_logs: GetLogs | None = None,
                 *, call_batch: CallBatch | None = None, batch_size: int = 100, max_concurrency: int = 16,
                 block: str = "latest") -> None:
        self.registry = registry
        self._eth_call = eth_call
        self._get_logs = get_logs
        self._call_batch = call_batch
        self._batch_size = batch_size
        self._limit = trio.CapacityLimiter(max_concurrency)
        self._block = block

    async def _call_many(self, requests: list[tuple[str, bytes]]) -> list[bytes | DiscoveryError]:
        """Results of many eth_calls, in order; a failed call is its DiscoveryError."""
        if self._call_batch is None:
            return await self._gather([lambda to=to, data=data: self._call(to, data) for to, data in requests])
        out: list[bytes | DiscoveryError] = []
        for start in range(0, len(requests), self._batch_size):
            chunk = requests[start:start + self._batch_size]
            try:
                results = await self._call_batch(chunk)
                if len(results) != len(chunk):
                    raise ValueError(f"{len(results)} results for {len(chunk)} calls")
            except Exception as exc:  # noqa: BLE001 - the RPC client's error types are its own
                failure = DiscoveryError(chunk[0][0], "eth_call batch", f"batch of {len(chunk)} failed: {exc!r}")
                out.extend(failure for _ in chunk)
                continue
            for (to, data), result in zip(chunk, results):
                if isinstance(result, (bytes, bytearray)):
                    out.append(bytes(result))
                else:
                    out.append(DiscoveryError(to, "0x" + data[:4].hex(), f"eth_call failed: {result!r}"))
        return out

    async def _call(self, to: str, data: bytes) -> bytes:
        """One eth_call; any failure of the injected client (a revert, an RPC error) becomes a
        DiscoveryError naming the contract and call. Cancellation is not an Exception and
        passes through."""
        async with self._limit:
            try:
                return bytes(await self._eth_call(to, data, self._block))
            except Exception as exc:  # noqa: BLE001 - the RPC client's error types are its own
                raise DiscoveryError(to, "0x" + data[:4].hex(), f"eth_call failed: {exc!r}") from exc

    async def _gather(self, thunks: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
        results: list[Any] = [None] * len(thunks)

        async def one(i: int) -> None:
            try:
                results[i] = await thunks[i]()
            except DiscoveryError as exc:
                results[i] = exc

        async with trio.open_nursery() as nursery:
            for i in range(len(thunks)):
                nursery.start_soon(one, i)
        return results

    async def scan_factory(self, dex_name: str, *, from_block: int | None = None,
                           to_block: int | str = "latest", blocks_per_query: int | None = None) -> list[PoolInfo]:
        """Pools created by a DEX's factory between two blocks (resuming after the last scan).

        The creation logs carry token0, token1 (and fee, tickSpacing for V3), so no pool read
        is needed; only tokens the registry does not know are then read. With an int
        ``to_block`` and ``blocks_per_query``, the range is read in windows (RPC providers cap
        eth_getLogs ranges) and progress is saved after each, so an interrupted scan resumes.
        """
        if self._get_logs is None:
            raise DiscoveryError(dex_name, "get_logs", "discovery was built without a get_logs function")
        dex = self.registry.dex(dex_name)
        if from_block is None:
            done = self.registry.scanned_up_to(dex.factory)
            from_block = 0 if done is None else done + 1
        if blocks_per_query is not None:
            if not isinstance(to_block, int) or blocks_per_query < 1:
                raise DiscoveryError(dex.factory, "eth_getLogs",
                                     "windowed scans need an int to_block and blocks_per_query >= 1")
            windows = [(start, min(start + blocks_per_query - 1, to_block))
                       for start in range(from_block, to_block + 1, blocks_per_query)]
        else:
            windows = [(from_block, to_block)]
        found: list[PoolInfo] = []
        for start, end in windows:
            found.extend(await self._scan_window(dex, start, end))
        await self.ensure_tokens({t for p in found for t in (p.token0, p.token1)})
        return found

    async def _scan_window(self, dex: DexInfo, from_block: int, to_block: int | str) -> list[PoolInfo]:
        from mevbot.parser.errors import LogDecodeError
        from mevbot.parser.logs import decode_log  # the one decoder of factory events

        topic = TOPIC_PAIR_CREATED if dex.kind is PoolKind.V2 else TOPIC_POOL_CREATED
        try:
            logs = await self._get_logs({
                "address": dex.factory, "topics": [topic],
                "fromBlock": hex(from_block), "toBlock": to_block if isinstance(to_block, str) else hex(to_block),
            })
        except Exception as exc:  # noqa: BLE001 - the RPC client's error types are its own
            raise DiscoveryError(dex.factory, "eth_getLogs", f"blocks {from_block}..{to_block}: {exc!r}") from exc
        found = []
        last_block = from_block - 1
        for entry in logs:
            try:
                update = decode_log(entry)
            except LogDecodeError as exc:
                log.warning("factory scan of %s skipped a log: %s", dex.name, exc)
                continue
            if update is None or update.factory != dex.factory:
                continue
            if update.block_number is not None:
                last_block = max(last_block, update.block_number)
            found.append(PoolInfo(update.pool, dex.name, dex.kind, update.token0, update.token1,
                                  update.fee_pips if dex.kind is PoolKind.V3 else dex.fee_pips,
                                  update.tick_spacing))
        self.registry.add_pools(found)
        if isinstance(to_block, int):
            last_block = max(last_block, to_block)
        if last_block >= from_block:
            self.registry.mark_scanned(dex.factory, last_block)
        return found

    async def find_pool(self, dex_name: str, token_a: str, token_b: str,
                        fee_pips: int | None = None) -> PoolInfo | None:
        """A DEX's pool for two tokens: from the registry, else ``getPair`` / ``getPool``."""
        known = self.registry.find_pool(dex_name, token_a, token_b, fee_pips)
        if known is not None:
            return known
        dex = self.registry.dex(dex_name)
        token0, token1 = sort_tokens(token_a, token_b)
        if dex.kind is PoolKind.V2:
            data = SEL_GET_PAIR + abi_encode(["address", "address"], [token0, token1])
            call = "getPair"
        else:
            if fee_pips is None:
                raise DiscoveryError(dex.factory, "getPool", "a V3 pool lookup needs a fee tier")
            data = SEL_GET_POOL + abi_encode(["address", "address", "uint24"], [token0, token1, fee_pips])
            call = "getPool"
        address = _decode_word_address(await self._call(dex.factory, data), dex.factory, call)
        if address == ZERO_ADDRESS:
            return None
        return await self.describe_pool(address, dex_name)

    async def describe_pool(self, address: str, dex_name: str) -> PoolInfo:
        """Read a pool's immutable facts (unless known), register it and its tokens."""
        address = address.lower()
        known = self.registry.pool(address)
        if known is not None:
            return known
        dex = self.registry.dex(dex_name)
        calls = [SEL_TOKEN0, SEL_TOKEN1] + ([SEL_FEE, SEL_TICK_SPACING] if dex.kind is PoolKind.V3 else [])
        raw = await self._call_many([(address, s) for s in calls])
        for result in raw:
            if isinstance(result, DiscoveryError):
                raise result
        token0 = _decode_word_address(raw[0], address, "token0")
        token1 = _decode_word_address(raw[1], address, "token1")
        if dex.kind is PoolKind.V3:
            pool = PoolInfo(address, dex.name, dex.kind, token0, token1,
                            _decode_word_int(raw[2], address, "fee"),
                            _decode_word_int(raw[3], address, "tickSpacing", signed=True))
        else:
            pool = PoolInfo(address, dex.name, dex.kind, token0, token1, dex.fee_pips)
        self.registry.add_pool(pool)
        await self.ensure_tokens({token0, token1})
        return pool

    async def ensure_tokens(self, addresses: Iterable[str]) -> dict[str, TokenInfo | DiscoveryError]:
        """Read decimals and symbol of every token the registry lacks, all in one go.

        A token whose ``decimals`` cannot be read is reported (and logged), not registered; a
        missing or undecodable ``symbol`` is recorded as "".
        """
        missing = sorted({a.lower() for a in addresses} - {t.address for t in self.registry.tokens()})
        if not missing:
            return {}
        raw = await self._call_many([(t, sel) for t in missing for sel in (SEL_DECIMALS, SEL_SYMBOL)])
        results: dict[str, TokenInfo | DiscoveryError] = {}
        for i, token in enumerate(missing):
            decimals_raw, symbol_raw = raw[2 * i], raw[2 * i + 1]
            try:
                if isinstance(decimals_raw, DiscoveryError):
                    raise decimals_raw
                decimals = _decode_word_int(decimals_raw, token, "decimals")
                if decimals > 255:
                    raise DiscoveryError(token, "decimals", f"expected a uint8, got {decimals}")
            except DiscoveryError as exc:
                log.warning("token %s left out of the registry: %s", token, exc)
                results[token] = exc
                continue
            symbol = "" if isinstance(symbol_raw, DiscoveryError) else decode_symbol(symbol_raw)
            results[token] = TokenInfo(token, decimals, symbol)
        self.registry.add_tokens(r for r in results.values() if isinstance(r, TokenInfo))
        return results
