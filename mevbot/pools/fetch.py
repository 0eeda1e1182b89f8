"""Pool state from the chain: batched ``eth_call`` at one block.

V2: ``getReserves()``. V3: ``slot0()`` and ``liquidity()``, then the tick-bitmap words
around the current tick, then ``ticks(t)`` of every initialised tick in those words, each
round one JSON-RPC batch, all pinned to the same block so the snapshot is consistent. When a
simulated swap walks past the fetched words (:class:`MissingTickData`), :func:`extend_v3_state`
fetches the words up to the one it needs (keeping the known range contiguous) or the one tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from eth_abi import decode
from eth_utils import keccak

from mevbot.parser.messages import PoolKind
from mevbot.pools.errors import PoolFetchError
from mevbot.pools.registry import PoolInfo
from mevbot.pools.state import PoolSnapshot
from mevbot.pricing.errors import MissingTickData
from mevbot.pricing.tick_bitmap import position
from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


GET_RESERVES = _selector("getReserves()")
SLOT0 = _selector("slot0()")
LIQUIDITY = _selector("liquidity()")
TICK_BITMAP = _selector("tickBitmap(int16)")
TICKS = _selector("ticks(int24)")


class BatchRpc(Protocol):
    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...


async def _eth_calls(rpc: BatchRpc, pool: str, datas: list[bytes], block: int) -> list[bytes]:
    calls = [("eth_call", [{"to": pool, "data": "0x" + d.hex()}, hex(block)]) for d in datas]
    results = await rpc.batch(calls) if calls else []
    out = []
    for data, result in zip(datas, results):
        if isinstance(result, Exception):
            raise PoolFetchError(pool, f"eth_call 0x{data[:4].hex()} at block {block} failed: {result}")
        if not isinstance(result, str) or not result.startswith("0x"):
            raise PoolFetchError(pool, f"eth_call 0x{data[:4].hex()} returned {result!r}; expected hex data")
        out.append(bytes.fromhex(result[2:]))
    return out


def _int16(word: int) -> bytes:
    return word.to_bytes(32, "big", signed=True)


async def fetch_snapshot(rpc: BatchRpc, info: PoolInfo, block: int, *, words_around: int = 2,
                         v2_fee: tuple[int, int] = (997, 1000)) -> PoolSnapshot:
    """The pool's state at ``block``."""
    if info.kind is PoolKind.V2:
        (raw,) = await _eth_calls(rpc, info.address, [GET_RESERVES], block)
        try:
            r0, r1, _ = decode(["uint112", "uint112", "uint32"], raw)
        except Exception as exc:
            raise PoolFetchError(info.address, f"getReserves() returned undecodable data: {exc}") from exc
        return PoolSnapshot(info.address, V2PoolState(r0, r1, *v2_fee), block)

    slot0_raw, liquidity_raw = await _eth_calls(rpc, info.address, [SLOT0, LIQUIDITY], block)
    try:
        sqrt_price, tick = decode(["uint160", "int24"], slot0_raw[:64])
        (liquidity,) = decode(["uint128"], liquidity_raw)
    except Exception as exc:
        raise PoolFetchError(info.address, f"slot0()/liquidity() returned undecodable data: {exc}") from exc
    if info.tick_spacing is None:
        raise PoolFetchError(info.address, "V3 pool without a tick spacing in the registry")
    state = V3PoolState(sqrt_price_x96=sqrt_price, tick=tick, liquidity=liquidity, fee_pips=info.fee_pips,
                        tick_spacing=info.tick_spacing)
    center, _ = position(tick // info.tick_spacing)
    words = list(range(center - words_around, center + words_around + 1))
    state = await _add_words(rpc, info.address, state, words, block)
    return PoolSnapshot(info.address, state, block)


async def _add_words(rpc: BatchRpc, pool: str, state: V3PoolState, words: list[int], block: int) -> V3PoolState:
    raws = await _eth_calls(rpc, pool, [TICK_BITMAP + _int16(w) for w in words], block)
    bitmap = {w: int.from_bytes(raw[:32], "big") for w, raw in zip(words, raws)}
    ticks = [
        (w * 256 + bit) * state.tick_spacing
        for w, value in bitmap.items()
        for bit in range(256)
        if value >> bit & 1
    ]
    nets = await _fetch_liquidity_nets(rpc, pool, ticks, block)
    return state.with_data(bitmap_words={w: v for w, v in bitmap.items() if v},
                           liquidity_net_by_tick=nets,
                           complete_word_range=(min(words), max(words)))


async def _fetch_liquidity_nets(rpc: BatchRpc, pool: str, ticks: list[int], block: int) -> dict[int, int]:
    raws = await _eth_calls(rpc, pool, [TICKS + t.to_bytes(32, "big", signed=True) for t in ticks], block)
    nets = {}
    for tick, raw in zip(ticks, raws):
        try:
            _gross, net = decode(["uint128", "int128"], raw[:64])
        except Exception as exc:
            raise PoolFetchError(pool, f"ticks({tick}) returned undecodable data: {exc}") from exc
        nets[tick] = net
    return nets


async def extend_v3_state(rpc: BatchRpc, pool: str, state: V3PoolState, missing: MissingTickData,
                          block: int, *, margin_words: int = 2) -> V3PoolState:
    """``state`` with what ``missing`` asks for, fetched at ``block``.

    A walk that needed word w usually needs w's neighbours next, so ``margin_words`` more words
    beyond it come in the same batch.
    """
    if missing.tick is not None:
        return state.with_data(liquidity_net_by_tick=await _fetch_liquidity_nets(rpc, pool, [missing.tick], block))
    known = state.complete_word_range
    if known is None or known[0] <= missing.word <= known[1]:
        words = [missing.word]  # nothing contiguous to extend: fetch the word itself
    elif missing.word < known[0]:
        words = list(range(max(missing.word - margin_words, -(1 << 15)), known[0]))
    else:
        words = list(range(known[1] + 1, min(missing.word + margin_words, (1 << 15) - 1) + 1))
    return await _add_words(rpc, pool, state, words, block)


async def fill_missing(rpc: BatchRpc, snapshots: dict[str, PoolSnapshot],
                       missing: dict[str, MissingTickData]) -> list[str]:
    """Fetch what simulations asked for into ``snapshots`` (at each snapshot's own block).

    Returns the pools it extended; the caller re-evaluates the cycles through them.
    """
    extended = []
    for pool, request in sorted(missing.items()):
        snap = snapshots.get(pool)
        if snap is None or not isinstance(snap.state, V3PoolState):
            continue
        state = await extend_v3_state(rpc, snap.address, snap.state, request, snap.block_number)
        snapshots[pool] = PoolSnapshot(snap.address, state, snap.block_number, snap.seq)
        extended.append(pool)
    return extended
