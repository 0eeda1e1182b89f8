"""The scanner's routes, checked hop by hop against the real contracts on the devnet.

A real router swap opens a price gap; the scanner reads every devnet pool with the bot's
fetcher at one block and prices every cycle from WETH. Each hop of each priced route (random
sizes for every cycle, plus the sized opportunities it reports) must equal, to the wei, what
QuoterV2 (V3) or the DEX's own router (``getAmountsOut``, V2 and SushiSwap) answers for that
hop's input at the same block, so a cycle's predicted output is the chain's.
"""

from __future__ import annotations

import os
import random
import time

import pytest
from eth_abi import decode

from mevbot.devnet.abi import encode_call
from mevbot.parser.messages import PoolKind
from mevbot.pools.fetch import fetch_snapshot, fill_missing
from mevbot.pools.registry import PoolInfo
from mevbot.pricing.errors import MissingTickData, PricingError
from mevbot.pricing.v3_pool import V3PoolState
from mevbot.rpc.client import RpcClient
from mevbot.rpc.errors import NodeError
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, CycleSimulation, ReferenceScanner, ScanFilters, Scanner

pytestmark = pytest.mark.devnet

SEED = int(os.environ.get("SCANNER_CHAIN_SEED", "6"))
TRADER_INDEX = 3  # dev account opening the price gap
QUOTE_IN = "quoteExactInputSingle((address,address,uint256,uint24,uint160))"


def pool_info(pool: dict) -> PoolInfo:
    kind = PoolKind.V3 if pool["dex"] == "uniswap_v3" else PoolKind.V2
    return PoolInfo(address=pool["address"].lower(), dex=pool["dex"], kind=kind, token0=pool["token0"].lower(),
                    token1=pool["token1"].lower(), fee_pips=pool["fee"], tick_spacing=pool.get("tick_spacing"))


def lacks(state, request: MissingTickData) -> bool:
    """Whether ``state`` is the pool that ``request`` (raised somewhere in a cycle) is about."""
    if not isinstance(state, V3PoolState):
        return False
    if request.tick is not None:
        return request.tick not in state.liquidity_net_by_tick
    lo, hi = state.complete_word_range or (1, 0)
    return request.word not in state.bitmap_words and not lo <= request.word <= hi


def open_gap(devnet, pool: dict, eth_in: int) -> None:
    weth = devnet.manifest["contracts"]["weth9"]
    other = pool["token1"] if pool["token0"].lower() == weth.lower() else pool["token0"]
    trader = devnet.account(TRADER_INDEX)
    data = encode_call("swapExactETHForTokens(uint256,address[],address,uint256)", 0, [weth, other], trader.address,
                       int(time.time()) + 600)
    assert devnet.transact(trader, pool["router"], data, value=eth_in)["status"] == "0x1"


def hop_quote(devnet, manifest_pool: dict, hop, block: int) -> tuple[str, list]:
    if hop.kind == "v3":
        to = devnet.manifest["contracts"]["uniswap_v3"]["quoter_v2"]
        data = encode_call(QUOTE_IN, (hop.token_in, hop.token_out, hop.amount_in, hop.fee_pips, 0))
    else:
        to = manifest_pool["router"]
        data = encode_call("getAmountsOut(uint256,address[])", hop.amount_in, [hop.token_in, hop.token_out])
    return "eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)]


def quoted_out(hop, answer) -> int:
    assert not isinstance(answer, NodeError), f"the chain refused hop {hop}: {answer}"
    raw = bytes.fromhex(answer[2:])
    if hop.kind == "v3":
        return decode(["uint256", "uint160", "uint32", "uint256"], raw)[0]
    return decode(["uint256[]"], raw)[0][-1]


async def test_every_cycle_route_and_opportunity_equals_the_chained_on_chain_quotes(devnet):
    manifest_pools = {p["address"].lower(): p for p in devnet.manifest["pools"]}
    infos = [pool_info(p) for p in manifest_pools.values()]
    weth = devnet.manifest["contracts"]["weth9"].lower()
    open_gap(devnet, devnet.pool("uniswap_v2", "WETH", "USDC"), 25 * 10**18)
    index = build_cycle_index(infos, start_tokens=[weth])
    dex_of = {i.address: i.dex for i in infos}.__getitem__
    scanner = Scanner(index, filters=ScanFilters(max_input=10**21), weth=weth, dex_of=lambda p: dex_of(p.lower()))
    rng = random.Random(SEED)
    sizes = {c.key: int(10 ** rng.uniform(14, 20.5)) for c in index.cycles}
    async with RpcClient([devnet.rpc_url], timeout_s=60.0, rate_per_s=1000.0) as rpc:
        block = await rpc.block_number()
        snapshots = {i.address: await fetch_snapshot(rpc, i, block) for i in infos}

        def view(pool: str):
            return snapshots[pool.lower()].state

        for _ in range(20):  # price everything; fetch the tick data walks ask for, then again
            routes, missing, refused = [], {}, 0
            for cycle in index.cycles:
                try:
                    routes.append(CycleSimulation(cycle, view).route(sizes[cycle.key], scanner.dex_of))
                except MissingTickData as exc:
                    assert lacks(view(exc.pool), exc), f"{exc.pool} was asked for data it holds: {exc}"
                    missing[exc.pool] = exc
                except PricingError:
                    refused += 1  # a size a V2 pair cannot take; the router refuses it too
            found = scanner.scan([i.address for i in infos], view, CostInputs(gas_price_wei=0), block_number=block)
            # the scanner names only the pool whose walk lacked the data (fixed in 50bbd59)
            for pool, request in scanner.missing.items():
                assert lacks(view(pool), request), f"the scanner asked {pool} for data it holds: {request}"
            missing.update(scanner.missing)
            scanner.missing.clear()
            if not missing:
                break
            await fill_missing(rpc, snapshots, missing)
        else:
            raise AssertionError(f"tick data still missing (seed {SEED}): {missing}")
        priced = routes + [opp.route for opp in found]
        hops = [hop for route in priced for hop in route]
        answers = await rpc.batch([hop_quote(devnet, manifest_pools[h.pool], h, block) for h in hops])

    print(f"\nscanner vs chain (seed {SEED}): {len(index.cycles)} cycles, {len(routes)} priced, {refused} refused,"
          f" {len(found)} opportunities, {len(hops)} hops compared with QuoterV2 / getAmountsOut")
    problems = [f"{hop}: chain says {quoted_out(hop, answer)}" for hop, answer in zip(hops, answers)
                if quoted_out(hop, answer) != hop.amount_out]
    assert not problems, f"{len(problems)} of {len(hops)} hops differ (seed {SEED}):\n" + "\n".join(problems[:5])
    for route in priced:  # each hop is fed exactly what the previous one put out
        assert all(a.amount_out == b.amount_in for a, b in zip(route, route[1:]))
    for opp in found:
        assert opp.gross_profit == opp.route[-1].amount_out - opp.amount_in > 0
    assert found, "the gap the router swap opened must show up as an opportunity"
    assert len(routes) >= 0.9 * len(index.cycles) and refused <= 0.1 * len(index.cycles)
    assert {len(r) for r in routes} == {2, 3} and {h.kind for h in hops} == {"v2", "v3"}


async def test_scanner_asks_for_tick_data_only_for_the_pool_that_lacks_it(devnet):
    thin = pool_info(devnet.pool("uniswap_v3", "WETH", "USDC", 500))
    whole = pool_info(devnet.pool("uniswap_v3", "WETH", "USDC", 3000))
    weth = devnet.manifest["contracts"]["weth9"].lower()
    async with RpcClient([devnet.rpc_url], timeout_s=60.0) as rpc:
        block = await rpc.block_number()
        # every bitmap word of the 0.3 % pool (spacing 60: words -58..57), one word of the other
        snapshots = {thin.address: await fetch_snapshot(rpc, thin, block, words_around=0),
                     whole.address: await fetch_snapshot(rpc, whole, block, words_around=60)}
    index = build_cycle_index([thin, whole], start_tokens=[weth])
    # The reference search tries sizes up to max_input whatever the prices, so it walks the thin
    # pool out of its one word; the optimised scanner prunes these near-equal pools (or sizes
    # them near the gap) and may ask nothing, but never asks the fully known pool.
    reference = ReferenceScanner(index, filters=ScanFilters(max_input=10**24))
    scanner = Scanner(index, filters=ScanFilters(max_input=10**24))
    for cycle in index.cycles:
        for each in (reference, scanner):
            each.evaluate(cycle, lambda p: snapshots[p.lower()].state, CostInputs(gas_price_wei=0), block_number=block)
    assert thin.address in reference.missing  # huge sizes walk the thin pool out of its one word
    assert set(reference.missing) == {thin.address}, "the fully known pool was asked for the other pool's word"
    assert set(scanner.missing) <= {thin.address}, "the fully known pool was asked for the other pool's word"


async def test_fill_missing_with_a_word_the_pool_already_holds_is_a_no_op(devnet):
    info = pool_info(devnet.pool("uniswap_v3", "WETH", "USDC", 3000))
    async with RpcClient([devnet.rpc_url], timeout_s=60.0) as rpc:
        snap = await fetch_snapshot(rpc, info, await rpc.block_number(), words_around=2)
        low, _high = snap.state.complete_word_range
        snapshots = {info.address: snap}
        try:
            await fill_missing(rpc, snapshots, {info.address: MissingTickData(word=low)})
        except ValueError as exc:
            pytest.fail(f"fill_missing raised {exc!r} for word {low}, inside the known words")
    assert snapshots[info.address].state.complete_word_range == snap.state.complete_word_range
