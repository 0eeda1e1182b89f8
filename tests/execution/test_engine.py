"""The execution engine against the devnet: simulate, sign, send, track; nonces; dry run; keys."""

from __future__ import annotations

import logging

import pytest
from eth_utils import to_checksum_address

from mevbot.execution.contract import load_executor
from mevbot.execution.engine import ExecutionEngine, ExecutionRequest
from mevbot.execution.keys import TradingKey, load_trading_key
from mevbot.execution.nonces import NonceManager
from mevbot.execution.settings import ExecutionSettings
from mevbot.rpc.client import RpcClient
from tests.execution.test_executor_contract import balance_of, find_opportunity, open_gap

pytestmark = pytest.mark.devnet

OWNER_INDEX = 4  # a spare dev account that only these tests use


@pytest.fixture(scope="module")
def engine_executor(devnet):
    from tests.execution.test_executor_contract import _build, _built

    artifact = load_executor() if _built() else _build()
    contracts = devnet.manifest["contracts"]
    owner = devnet.account(OWNER_INDEX)
    receipt = devnet.transact(owner, None, artifact.deploy_data(
        [contracts["uniswap_v2"]["factory"], contracts["sushiswap"]["factory"]],
        [contracts["uniswap_v3"]["factory"]]), gas=5_000_000)
    assert receipt["status"] == "0x1"
    return to_checksum_address(receipt["contractAddress"]), owner


def make_engine(devnet, rpc, executor, owner, **settings) -> ExecutionEngine:
    key = TradingKey(owner)
    config = ExecutionSettings(dry_run=False, **settings)
    return ExecutionEngine(rpc=rpc, senders=[rpc], key=key, executor=executor, settings=config,
                           chain_id=devnet.chain_id)


async def fresh_opportunity(devnet, symbol: str, eth_in: int, trader: int):
    uni, sushi = devnet.pool("uniswap_v2", "WETH", symbol), devnet.pool("sushiswap", "WETH", symbol)
    open_gap(devnet, uni, eth_in, account_index=trader)
    found = await find_opportunity(devnet, [uni, sushi])
    assert found
    return found[0]


async def test_an_approved_opportunity_lands_and_reports_its_realised_profit(devnet, engine_executor):
    executor, owner = engine_executor
    opp = await fresh_opportunity(devnet, "USDT", 20 * 10**18, trader=6)
    weth = devnet.manifest["contracts"]["weth9"]
    before = balance_of(devnet, weth, executor)
    async with RpcClient([devnet.rpc_url]) as rpc:
        result = await make_engine(devnet, rpc, executor, owner).execute(ExecutionRequest("r1", opp))
    assert result.status == "succeeded", result.reason
    assert result.realised_profit == opp.gross_profit == balance_of(devnet, weth, executor) - before
    assert result.gas_used and result.gas_limit >= result.gas_used and result.gas_cost_wei > 0


async def test_dry_run_simulates_and_never_sends(devnet, engine_executor):
    executor, owner = engine_executor
    opp = await fresh_opportunity(devnet, "WBTC", 10 * 10**18, trader=7)
    nonce_before = int(devnet.rpc.call("eth_getTransactionCount", owner.address, "pending"), 16)
    async with RpcClient([devnet.rpc_url]) as rpc:
        engine = make_engine(devnet, rpc, executor, owner)
        engine.settings = ExecutionSettings(dry_run=True)
        result = await engine.execute(ExecutionRequest("r2", opp))
    assert result.status == "dry_run" and result.tx_hash is None
    assert result.simulated_profit == opp.gross_profit
    assert int(devnet.rpc.call("eth_getTransactionCount", owner.address, "pending"), 16) == nonce_before


async def test_a_stale_opportunity_is_dropped_by_simulation_with_the_revert_reason(devnet, engine_executor):
    executor, owner = engine_executor
    opp = await fresh_opportunity(devnet, "ARB", 10 * 10**18, trader=8)
    async with RpcClient([devnet.rpc_url]) as rpc:
        engine = make_engine(devnet, rpc, executor, owner)
        first = await engine.execute(ExecutionRequest("r3", opp))
        again = await engine.execute(ExecutionRequest("r4", opp))  # the gap is closed now
    assert first.status == "succeeded"
    assert again.status == "dropped" and "simulation reverted" in again.reason and again.tx_hash is None


async def test_nonces_are_consecutive_and_continue_gap_free_after_a_restart(devnet, engine_executor):
    executor, owner = engine_executor
    async with RpcClient([devnet.rpc_url]) as rpc:
        start = await rpc.get_transaction_count(owner.address, "pending")
        opp = await fresh_opportunity(devnet, "USDC", 10 * 10**18, trader=6)
        first = await make_engine(devnet, rpc, executor, owner).execute(ExecutionRequest("r5", opp))
        opp = await fresh_opportunity(devnet, "USDC", 10 * 10**18, trader=6)
        # a new engine and nonce manager, as after a restart of the bot
        second = await make_engine(devnet, rpc, executor, owner).execute(ExecutionRequest("r6", opp))
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert (first.nonce, second.nonce) == (start, start + 1)


async def test_a_nonce_too_low_resyncs_from_the_chain(devnet, engine_executor):
    executor, owner = engine_executor
    async with RpcClient([devnet.rpc_url]) as rpc:
        manager = NonceManager(lambda: rpc.get_transaction_count(owner.address, "pending"))
        engine = make_engine(devnet, rpc, executor, owner)
        engine.nonces = manager
        await manager.sync()
        manager._next -= 1  # as if another process had used a nonce behind our back
        opp = await fresh_opportunity(devnet, "DAI", 10 * 10**18, trader=7)
        failed = await engine.execute(ExecutionRequest("r7", opp))
        assert failed.status == "failed" and "nonce" in failed.reason.lower()
        retried = await engine.execute(ExecutionRequest("r8", opp))
    assert retried.status == "succeeded" and retried.nonce == failed.nonce + 1
    assert manager.resyncs == 2


def test_a_plain_key_is_refused_off_a_local_anvil(monkeypatch):
    from mevbot.execution.errors import KeyLoadError

    settings = ExecutionSettings()
    env = {settings.devnet_key_env: "0x" + "11" * 32}
    with pytest.raises(KeyLoadError, match="only on a local anvil"):
        load_trading_key(settings, environ=env, rpc_url="https://arb1.example/rpc", client_version="nitro/v3")
    key = load_trading_key(settings, environ=env, rpc_url="http://127.0.0.1:8547", client_version="anvil/v1.7.1")
    assert "11" * 32 not in repr(key) and key.address.startswith("0x")


def test_an_encrypted_keystore_loads_with_its_password_and_refuses_a_wrong_one(tmp_path):
    import json

    from eth_account import Account

    from mevbot.execution.errors import KeyLoadError

    secret = "0x" + "22" * 32
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(secret, "pw")))
    settings = ExecutionSettings(keystore=str(path))
    key = load_trading_key(settings, environ={settings.keystore_password_env: "pw"})
    assert key.address == Account.from_key(secret).address
    with pytest.raises(KeyLoadError, match="wrong password") as info:
        load_trading_key(settings, environ={settings.keystore_password_env: "nope"})
    assert "22" * 32 not in str(info.value)


async def test_no_key_material_reaches_the_logs(devnet, engine_executor, caplog):
    executor, owner = engine_executor
    caplog.set_level(logging.DEBUG)
    opp = await fresh_opportunity(devnet, "USDC", 5 * 10**18, trader=8)
    async with RpcClient([devnet.rpc_url]) as rpc:
        engine = make_engine(devnet, rpc, executor, owner)
        result = await engine.execute(ExecutionRequest("r9", opp))
        logging.getLogger("test").info("engine %r key %s result %r", engine, engine.key, result)
    secret = owner.key.hex().removeprefix("0x")
    assert secret not in caplog.text and secret not in repr(result)
    assert engine.key.address in caplog.text  # the log did capture the engine's key object
