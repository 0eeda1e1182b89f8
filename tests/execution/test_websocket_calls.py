"""The engine over an RpcClient with a WebSocket on the devnet: the simulation, the send and the receipt
go over it, not HTTP; the transaction signed while the simulation is in flight is sent when its
gas limit covers what the simulation measured, and signed again when it does not."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from mevbot.execution.engine import ExecutionEngine, ExecutionRequest
from mevbot.execution.keys import TradingKey
from mevbot.execution.settings import ExecutionSettings
from mevbot.rpc.client import RpcClient
from tests.execution.test_engine import engine_executor, fresh_opportunity  # noqa: F401

pytestmark = pytest.mark.devnet


@asynccontextmanager
async def live_engine(devnet, engine_executor):
    """A live engine whose RpcClient has the devnet's WebSocket (connected) beside its HTTP."""
    executor, owner = engine_executor
    async with RpcClient([devnet.rpc_url], ws_url=devnet.ws_url) as rpc:
        assert await rpc.wait_connected(10)
        engine = ExecutionEngine(rpc=rpc, senders=[], key=TradingKey(owner), executor=executor,
                                 settings=ExecutionSettings(dry_run=False), chain_id=devnet.chain_id)
        await engine.prepare()
        yield engine, rpc


async def test_the_trade_goes_over_the_websocket_and_is_signed_during_its_simulation(devnet, engine_executor):
    async with live_engine(devnet, engine_executor) as (engine, rpc):

        first = await engine.execute(ExecutionRequest("w1", await fresh_opportunity(devnet, "USDC", 12 * 10**18, trader=6)))
        assert first.status == "succeeded", first.reason
        # no gas measured for the cycle yet: signed early with the scanner's gas model, which covers it
        assert (engine.presigned_used, engine.presigned_discarded) == (1, 0)
        assert first.gas_used <= first.gas_limit

        second = await engine.execute(ExecutionRequest("w2", await fresh_opportunity(devnet, "USDC", 12 * 10**18, trader=6)))
        assert second.status == "succeeded", second.reason
        assert (engine.presigned_used, engine.presigned_discarded) == (2, 0)  # with the gas measured
        assert second.nonce == first.nonce + 1

        opp = await fresh_opportunity(devnet, "USDC", 12 * 10**18, trader=6)
        engine.measured_gas[opp.cycle_key] = 1  # far below what the route spends: the early signature is too small
        third = await engine.execute(ExecutionRequest("w3", opp))
        assert third.status == "succeeded", third.reason
        assert (engine.presigned_used, engine.presigned_discarded) == (2, 1)
        assert third.gas_limit >= third.gas_used and third.nonce == second.nonce + 1

        over_ws, over_http = rpc.stats()
    assert over_http.calls == 0  # simulation, send and receipts all went over the WebSocket
    assert over_ws.url == devnet.ws_url and over_ws.calls > 0 and over_ws.errors == 0
    for result in (first, second, third):
        sent = devnet.rpc.call("eth_getTransactionByHash", result.tx_hash)
        assert int(sent["gas"], 16) == result.gas_limit and int(sent["nonce"], 16) == result.nonce


async def test_a_dropped_simulation_leaves_the_early_signature_unsent_and_its_nonce_free(devnet, engine_executor):
    async with live_engine(devnet, engine_executor) as (engine, rpc):
        stale = await fresh_opportunity(devnet, "DAI", 12 * 10**18, trader=7)
        fresh = await engine.execute(ExecutionRequest("w4", stale))  # takes the gap: `stale` is now spent
        assert fresh.status == "succeeded", fresh.reason
        used = engine.presigned_used
        dropped = await engine.execute(ExecutionRequest("w5", stale))
        assert dropped.status == "dropped" and "simulation reverted" in dropped.reason
        assert engine.presigned_used == used and dropped.tx_hash is None  # signed early, never sent
        nonce = await rpc.get_transaction_count(engine.key.address, "pending")
        after = await engine.execute(ExecutionRequest("w6", await fresh_opportunity(devnet, "DAI", 12 * 10**18, trader=7)))
    assert after.status == "succeeded" and after.nonce == nonce == fresh.nonce + 1
