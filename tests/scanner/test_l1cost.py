"""The scanner prices L1 data with NodeInterface where the endpoint offers it, else from config.

On the devnet, through the scanner module's own handlers (``_heads``, ``_on_change``) on the
replay's sequential bus: anvil has no code at 0x...C8, so the configured estimate is used (and
said once); with a stand-in NodeInterface placed there, the reported L1 cost and net profit of
the same opportunities follow its answer, and one that only just passed is filtered.
"""

from __future__ import annotations

import logging
import types

import attrs
import pytest
from eth_abi import encode

from mevbot.config import Config
from mevbot.pools.fetch import fetch_snapshot
from mevbot.pools.messages import PoolStateChange, PoolStateEntry
from mevbot.replay.replayer import SequentialBus
from mevbot.rpc.chaindata import BlockHead
from mevbot.rpc.client import RpcClient
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import ScanFilters, Scanner
from mevbot.scanner.l1cost import (
    GAS_ESTIMATE_COMPONENTS,
    NODE_INTERFACE,
    L1CostEstimator,
    decode_components,
    encode_query,
    representative_call,
)
from mevbot.scanner.module import ScannerModule
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY
from mevbot.scanner.settings import ScannerSettings
from tests.scanner.test_against_chain import open_gap, pool_info

STAND_IN = "contracts/test/NodeInterfaceStandIn.sol"
L1_GAS_PER_BYTE, STAND_IN_BASE_FEE = 100, 100_000_000  # the stand-in's constants
BASE_FEE = 10**8  # both heads below carry it, so only the L1 part of the costs can differ


def test_the_query_is_node_interface_abi():
    data = representative_call("0x" + "0a" * 20, ["0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20])
    query = encode_query(data)
    assert GAS_ESTIMATE_COMPONENTS.hex() == "c94e6eeb"  # gasEstimateComponents(address,bool,bytes)
    assert query[:4] == GAS_ESTIMATE_COMPONENTS
    assert decode_components(encode(["uint64", "uint64", "uint256", "uint256"], [5, 7, 11, 13])).cost_wei == 77


def stand_in_runtime_code(devnet) -> str:
    """The stand-in's runtime code, deployed normally once and read back."""
    from mevbot.devnet.artifacts import compile_standard_json
    from mevbot.execution.contract import REPO_ROOT

    built = compile_standard_json("solc", {STAND_IN: (REPO_ROOT / STAND_IN).read_text()},
                                  optimizer_runs=200)[STAND_IN]
    receipt = devnet.transact(devnet.account(7), None, bytes.fromhex(built["NodeInterfaceStandIn"]["evm"]["bytecode"]["object"]),
                              gas=1_000_000)
    assert receipt["status"] == "0x1"
    return devnet.rpc.call("eth_getCode", receipt["contractAddress"], "latest")


def module_on(devnet, weth: str, settings: ScannerSettings):
    infos = [pool_info(p) for p in devnet.manifest["pools"]]
    index = build_cycle_index(infos, start_tokens=[weth])
    dexes = {i.address: i.dex for i in infos}
    module = ScannerModule()
    module.scanner = Scanner(index, filters=ScanFilters(min_profit=settings.min_profit_wei,
                                                         min_profit_to_cost=settings.min_profit_to_cost,
                                                         max_input=10**21),
                             weth=weth, dex_of=lambda p: dexes.get(p.lower(), ""))
    longest = max(index.cycles, key=lambda c: len(c.hops))
    module.l1 = L1CostEstimator(representative_call(longest.start_token, [h.pool for h in longest.hops]))
    bus = SequentialBus()
    found: list = []

    async def collect(opp, _trace):
        found.append(opp)

    bus.route(TOPIC_OPPORTUNITY, collect)
    ctx = types.SimpleNamespace(config=settings, full_config=Config(),
                                bus=bus, log=logging.getLogger("test.scanner"))
    return module, infos, ctx, found


def head(number: int) -> types.SimpleNamespace:
    return types.SimpleNamespace(payload=BlockHead(number, "0x" + "00" * 32, "0x" + "00" * 32, 0, 30_000_000, 0,
                                                   BASE_FEE))


async def feed_heads(module, rpc, *heads):
    async def envelopes():
        for h in heads:
            yield h

    await module._heads(rpc, envelopes())


@pytest.mark.devnet
async def test_l1_cost_is_node_interfaces_answer_where_offered_else_config(devnet, caplog):
    weth = devnet.manifest["contracts"]["weth9"].lower()
    open_gap(devnet, devnet.pool("uniswap_v2", "WETH", "USDC"), 20 * 10**18)
    settings = ScannerSettings(l1_gas_estimate=2000)
    module, infos, ctx, found = module_on(devnet, weth, settings)
    module.l1.log = ctx.log
    code = stand_in_runtime_code(devnet)
    try:
        async with RpcClient([devnet.rpc_url], timeout_s=60.0, rate_per_s=1000.0) as rpc:
            block = await rpc.block_number()
            for info in infos:
                module.states[info.address] = await fetch_snapshot(rpc, info, block)
            change = PoolStateChange(tuple(PoolStateEntry.of(a, s.state) for a, s in module.states.items()),
                                     block, seq=1, tx_index=0, cause="update")

            # anvil: no code at 0xC8, the call returns nothing -> config, said once for three heads
            assert await rpc.call("eth_getCode", [NODE_INTERFACE, "latest"]) in ("0x", "0x0")
            with caplog.at_level(logging.INFO, logger="test.scanner"):
                await feed_heads(module, rpc, head(block - 2), head(block - 1), head(block))
            said = [r for r in caplog.records if "does not offer NodeInterface" in r.getMessage()]
            assert len(said) == 1 and module.l1.queries == 3 and module.l1.source == "config"
            await module._on_change(ctx, rpc, change, 1)
            by_config = {o.cycle_key: o for o in found}
            assert by_config, "the gap must show up as opportunities"
            assert {o.l1_cost_wei for o in by_config.values()} == {2000 * BASE_FEE}

            # A stand-in at 0xC8 (a fake by necessity: the real NodeInterface is a Nitro precompile
            # that anvil cannot run) answers with known components at the next head.
            await rpc.call("anvil_setCode", [NODE_INTERFACE, code])
            await rpc.call("evm_mine", [])
            later = await rpc.block_number()
            await feed_heads(module, rpc, head(later), head(later))  # the same head twice: asked once
            assert module.l1.queries == 4 and module.l1.source == "node"
            expected_l1 = len(module.l1.call_data) * L1_GAS_PER_BYTE * STAND_IN_BASE_FEE
            assert expected_l1 != 2000 * BASE_FEE
            found.clear()
            await module._on_change(ctx, rpc, change, 2)
            by_node = {o.cycle_key: o for o in found}
            assert by_node.keys() <= by_config.keys()
            assert {o.l1_cost_wei for o in by_node.values()} == {expected_l1}
            for key, opp in by_node.items():  # same states, same L2 cost: only the L1 part moved
                before = by_config[key]
                assert opp.l2_cost_wei == before.l2_cost_wei
                assert before.net_profit - opp.net_profit == expected_l1 - 2000 * BASE_FEE  # WETH: 1:1

            # one that just passes on the config cost is filtered on the node's
            slimmest = min(by_config.values(), key=lambda o: o.net_profit)
            borderline = attrs.evolve(settings, min_profit_wei=slimmest.net_profit)
            ctx.config = borderline
            module.scanner.filters = attrs.evolve(module.scanner.filters, min_profit=slimmest.net_profit)
            found.clear()
            await module._on_change(ctx, rpc, change, 3)
            assert slimmest.cycle_key not in {o.cycle_key for o in found}
    finally:
        devnet.rpc.call("anvil_setCode", NODE_INTERFACE, "0x")


#: Runtime code that reverts every call (PUSH1 0, PUSH1 0, REVERT): a NodeInterface that says no.
REVERTING_CODE = "0x60006000fd"


@pytest.mark.devnet
async def test_a_reverting_node_interface_gives_the_config_cost_and_a_dead_endpoint_keeps_the_last_answer(devnet,
                                                                                                           caplog):
    """Through the real RPC path on anvil, with the stand-in (anvil has no Arbitrum precompiles,
    so the real NodeInterface cannot run here) and then code that reverts placed at 0x...C8:
    the node answering no (a revert) means no estimate, so the configured one; an endpoint that
    cannot be reached says nothing about NodeInterface, so the last answer is kept."""
    estimator = L1CostEstimator(representative_call("0x" + "0a" * 20, ["0x" + "11" * 20, "0x" + "22" * 20]),
                                logger=logging.getLogger("test.scanner"))
    node_cost = len(estimator.call_data) * L1_GAS_PER_BYTE * STAND_IN_BASE_FEE
    config_cost = 2000 * BASE_FEE
    code = stand_in_runtime_code(devnet)
    try:
        async with RpcClient([devnet.rpc_url], timeout_s=60.0, rate_per_s=1000.0) as rpc:
            async def new_head(runtime_code: str) -> int:
                await rpc.call("anvil_setCode", [NODE_INTERFACE, runtime_code])
                await rpc.call("evm_mine", [])
                return await rpc.block_number()

            await estimator.refresh(rpc, await new_head(code))
            assert (estimator.source, estimator.cost_wei(2000, BASE_FEE)) == ("node", node_cost)

            with caplog.at_level(logging.INFO, logger="test.scanner"):
                await estimator.refresh(rpc, await new_head(REVERTING_CODE))
            assert (estimator.source, estimator.cost_wei(2000, BASE_FEE)) == ("config", config_cost)
            said = [r.getMessage() for r in caplog.records if "does not offer NodeInterface" in r.getMessage()]
            assert len(said) == 1 and "revert" in said[0]

            with caplog.at_level(logging.INFO, logger="test.scanner"):
                await estimator.refresh(rpc, await new_head(code))
            assert estimator.source == "node"
            assert any("answers again" in r.getMessage() for r in caplog.records)
            last = await rpc.block_number()
        # a port nothing listens on: a transport error, not an answer
        async with RpcClient(["http://127.0.0.1:9"], timeout_s=1.0, retries=0) as dead:
            await estimator.refresh(dead, last + 1)
        assert estimator.failures == 1
        assert (estimator.source, estimator.cost_wei(2000, BASE_FEE)) == ("node", node_cost)
        assert estimator.queries == 4
    finally:
        devnet.rpc.call("anvil_setCode", NODE_INTERFACE, "0x")
