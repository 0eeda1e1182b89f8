"""A trade that a transaction already waiting at the node would spoil is dropped, not sent.

On a node with a mempool (anvil mines first-in first-out) a transaction runs after the ones the
node holds; the engine simulates at ``latest`` and, in the same batch, at ``pending``. Here the
devnet mines only when the test says, so the spoiling swap is reliably pending.
"""

from __future__ import annotations

import time

import pytest
from eth_abi import encode

from mevbot.execution.contract import execute_calldata
from mevbot.execution.engine import ExecutionEngine, ExecutionRequest, decode_execute_result, min_profit_of
from mevbot.execution.keys import TradingKey
from mevbot.execution.settings import ExecutionSettings
from mevbot.rpc.client import RpcClient
from tests.execution.test_executor_contract import balance_of, find_opportunity, selector

pytestmark = pytest.mark.devnet


@pytest.fixture(scope="module")
def held_devnet(tmp_path_factory):
    from tests.fixtures.devnet import Devnet, _start_devnet, _stop

    home = tmp_path_factory.mktemp("held-devnet")
    process, manifest = _start_devnet(home)
    net = Devnet(manifest, home)
    net.rpc.call("evm_setIntervalMining", 0)  # a block only when the test mines one
    try:
        yield net
    finally:
        net.rpc.close()
        _stop(process)


def swap_data(signature: str, types: list[str], args: list) -> bytes:
    return selector(signature) + encode(types, args)


async def test_a_trade_spoiled_by_a_pending_swap_is_dropped_before_signing(held_devnet):
    from mevbot.devnet.executor import bot_account

    net = held_devnet
    uni, sushi = net.pool("uniswap_v2", "WETH", "USDC"), net.pool("sushiswap", "WETH", "USDC")
    weth, trader = net.manifest["contracts"]["weth9"], net.account(6)
    usdc = uni["token1"] if uni["token0"].lower() == weth.lower() else uni["token0"]
    deadline = int(time.time()) + 600
    buy = net.send_transaction(trader, uni["router"], swap_data(
        "swapExactETHForTokens(uint256,address[],address,uint256)", ["uint256", "address[]", "address", "uint256"],
        [0, [weth, usdc], trader.address, deadline]), value=20 * 10**18)
    net.rpc.call("evm_mine")
    assert net.wait_for_receipt(buy)["status"] == "0x1"
    [opp, *_] = await find_opportunity(net, [uni, sushi])
    # the trader sells it all back: once mined, the gap is closed; for now it waits at the node
    held = balance_of(net, usdc, trader.address)
    net.send_transaction(trader, uni["router"], swap_data(
        "swapExactTokensForETH(uint256,uint256,address[],address,uint256)",
        ["uint256", "uint256", "address[]", "address", "uint256"], [held, 0, [usdc, weth], trader.address, deadline]))
    executor, bot = net.manifest["contracts"]["executor"], bot_account()
    settings = ExecutionSettings(dry_run=False, simulate_pending=True)  # as the devnet's bot runs
    async with RpcClient([net.rpc_url]) as rpc:
        calldata = execute_calldata(opp, min_profit=min_profit_of(opp, settings), flash=settings.flash)
        profit, _gas = decode_execute_result(await rpc.eth_call(executor, calldata, "latest", sender=bot.address))
        assert profit == opp.gross_profit  # at latest the trade still looks as good as found
        engine = ExecutionEngine(rpc=rpc, senders=[rpc], key=TradingKey(bot), executor=executor, settings=settings,
                                 chain_id=net.chain_id)
        nonce = await rpc.get_transaction_count(bot.address, "pending")
        result = await engine.execute(ExecutionRequest("p1", opp))
        assert await rpc.get_transaction_count(bot.address, "pending") == nonce  # nothing was sent
    assert result.status == "dropped" and result.tx_hash is None
    # the flash-swapped cycle no longer repays its first pool: TransferFailed
    assert result.reason.startswith("simulation reverted at pending"), result.reason
    net.rpc.call("evm_mine")
