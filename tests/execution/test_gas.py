"""The gas limit comes from the simulation (the executor measures its own gas), with a margin.

On the devnet's real pools: the limit computed from what ``execute`` reports is never below what
eth_estimateGas's binary search finds to be the least that succeeds, even before the margin, and
a transaction sent with it and the configured margin lands. The engine then asks the node for nothing
but the simulation before it signs (no eth_estimateGas, no head per request).
"""

from __future__ import annotations

import pytest

from mevbot.execution.contract import execute_calldata
from mevbot.execution.engine import ExecutionRequest, decode_execute_result
from mevbot.execution.gas import TX_BASE_GAS, calldata_gas, gas_limit, l1_gas_of
from mevbot.execution.settings import ExecutionSettings
from mevbot.rpc.client import RpcClient
from tests.execution.test_engine import engine_executor, fresh_opportunity, make_engine  # noqa: F401 (fixture)
from tests.execution.test_executor_contract import find_opportunity, open_gap

pytestmark = pytest.mark.devnet


def test_calldata_gas_counts_zero_and_nonzero_bytes():
    assert calldata_gas(bytes(10)) == (40, 100)
    assert calldata_gas(b"\x01" * 10) == (160, 400)
    assert calldata_gas(b"") == (0, 0)


def test_the_margin_is_applied_to_everything_the_transaction_needs():
    calldata = b"\x01" * 100 + bytes(100)
    bare = gas_limit(measured_gas=150_000, calldata=calldata, hops=2, l1_gas=3_000, margin_pct=0)
    assert bare > TX_BASE_GAS + 2_000 + 150_000 + 3_000 + 2 * 12_000
    assert gas_limit(measured_gas=150_000, calldata=calldata, hops=2, l1_gas=3_000, margin_pct=20) == bare * 120 // 100
    assert l1_gas_of(10**15, 10**8) == 10**7 and l1_gas_of(10, 3) == 4 and l1_gas_of(5, 0) == 0


async def _gapped(devnet, pools: list[dict], eth_in: int, account_index: int):
    """The best opportunity through ``pools`` after a gap-opening buy on the first (bought again
    if the tests before left that pool's price where one buy only realigns it)."""
    for _ in range(4):
        open_gap(devnet, pools[0], eth_in, account_index=account_index)
        found = await find_opportunity(devnet, pools)
        if found:
            return found[0]
    raise AssertionError(f"no opportunity through {[p['address'] for p in pools]} after four buys")


async def _routes(devnet):
    """Fresh opportunities of three shapes: V2/Sushi, V2/V3 and a V2/V2/V3 triangle (deeper nesting)."""
    found = [
        await _gapped(devnet, [devnet.pool("uniswap_v2", "WETH", "USDC"), devnet.pool("sushiswap", "WETH", "USDC")],
                      12 * 10**18, 6),
        await _gapped(devnet, [devnet.pool("uniswap_v2", "WETH", "ARB"), devnet.pool("uniswap_v3", "WETH", "ARB", 3000)],
                      6 * 10**18, 7),
        await _gapped(devnet, [devnet.pool("uniswap_v2", "WETH", "USDT"), devnet.pool("uniswap_v2", "USDT", "USDC"),
                               devnet.pool("uniswap_v3", "WETH", "USDC", 500)], 12 * 10**18, 8),
    ]
    assert [len(o.route) for o in found] == [2, 2, 3] and {h.kind for h in found[1].route} == {"v2", "v3"}
    return found


async def test_the_limit_from_the_simulation_covers_estimate_gas_and_lands_with_the_margin(devnet, engine_executor):
    """Without the margin the limit is already at least eth_estimateGas's, whether or not the
    simulation ran in the block of the gap swap (then the pools' accumulator and oracle writes of a
    block's first swap are not in what it measured: the per-hop allowance covers them); and never
    far above it."""
    executor, owner = engine_executor
    margin = ExecutionSettings().gas_margin_pct
    async with RpcClient([devnet.rpc_url]) as rpc:
        for opp in await _routes(devnet):
            calldata = execute_calldata(opp, min_profit=0, flash=True)
            call = {"from": owner.address, "to": executor, "data": "0x" + calldata.hex()}
            profit, measured = decode_execute_result(await rpc.eth_call(executor, calldata, sender=owner.address))
            assert profit == opp.gross_profit and 50_000 < measured < 1_000_000
            least = await rpc.estimate_gas(call)  # binary search: the smallest limit that succeeds
            bare = gas_limit(measured_gas=measured, calldata=calldata, hops=len(opp.route), l1_gas=0, margin_pct=0)
            assert least <= bare < least * 125 // 100, (least, bare, [h.kind for h in opp.route])
            limit = gas_limit(measured_gas=measured, calldata=calldata, hops=len(opp.route), l1_gas=0,
                              margin_pct=margin)
            receipt = devnet.transact(owner, executor, calldata, gas=limit)
            assert receipt["status"] == "0x1" and int(receipt["gasUsed"], 16) < limit


class CountingRpc(RpcClient):
    """The real client, noting which methods it was asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.methods: list[str] = []

    async def call(self, method, params=(), **kwargs):
        self.methods.append(method)
        return await super().call(method, params, **kwargs)

    async def batch(self, calls):
        self.methods.append("batch: " + ", ".join(f"{method} {params[-1]}" for method, params in calls))
        return await super().batch(calls)


@pytest.mark.parametrize("simulate_pending, simulation", [
    (False, "batch: eth_call latest"),  # the default, for Arbitrum: its sequencer holds no pending state
    (True, "batch: eth_call latest, eth_call pending"),  # the devnet's: anvil holds the noise trades
])
async def test_before_signing_the_engine_asks_the_node_for_the_simulation_only(devnet, engine_executor,
                                                                             simulate_pending, simulation):
    """One round trip: the simulation (at latest, and at pending where configured, in one
    batch); no eth_estimateGas, no head."""
    executor, owner = engine_executor
    opp = await fresh_opportunity(devnet, "WBTC", 12 * 10**18, trader=8)
    async with CountingRpc([devnet.rpc_url]) as rpc:
        engine = make_engine(devnet, rpc, executor, owner, simulate_pending=simulate_pending)
        await engine.prepare()  # the module does this at start: the nonce and a first base fee
        assert rpc.methods == ["eth_getBlockByNumber", "eth_getTransactionCount"]
        engine.observe_head(10**9, 123_456_789)  # a newer head, as chain.head brings them
        engine.observe_head(5, 1)  # an older head changes nothing
        rpc.methods.clear()
        outcome = await engine.submit(ExecutionRequest("g1", opp))
        assert rpc.methods == [simulation, "eth_sendRawTransaction"]
        result = await engine.track(outcome)
    assert result.status == "succeeded", result.reason
    sent = devnet.rpc.call("eth_getTransactionByHash", result.tx_hash)
    assert int(sent["maxFeePerGas"], 16) == 123_456_789 * engine.settings.max_fee_multiplier + engine.settings.priority_fee_wei
    assert int(sent["gas"], 16) == result.gas_limit >= result.gas_used
