"""The executor contract on the devnet, with the real Uniswap V2/V3 and SushiSwap pools.

A price gap is opened with a real router swap; the scanner finds the cycle on state read from
the chain by the pool fetcher; the executor runs it with a flash swap and its WETH balance grows
by exactly the profit the scanner predicted.
"""

from __future__ import annotations

import time

import pytest
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from mevbot.execution.contract import (
    compile_executor,
    execute_calldata,
    executed_events,
    load_executor,
    write_build,
)
from mevbot.parser.messages import PoolKind
from mevbot.pools.fetch import fetch_snapshot, fill_missing
from mevbot.pools.registry import PoolInfo
from mevbot.rpc.client import RpcClient
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, ScanFilters, Scanner

pytestmark = pytest.mark.devnet


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.fixture(scope="module")
def executor(devnet):
    """A fresh executor owned by spare account 5, allowing the devnet's three factories."""
    artifact = load_executor() if _built() else _build()
    contracts = devnet.manifest["contracts"]
    owner = devnet.account(5)
    receipt = devnet.transact(owner, None, artifact.deploy_data(
        [contracts["uniswap_v2"]["factory"], contracts["sushiswap"]["factory"]],
        [contracts["uniswap_v3"]["factory"]]), gas=5_000_000)
    assert receipt["status"] == "0x1"
    return to_checksum_address(receipt["contractAddress"]), owner


def _built() -> bool:
    try:
        load_executor()
        return True
    except Exception:
        return False


def _build():
    artifact = compile_executor()
    write_build(artifact)
    return artifact


def balance_of(devnet, token: str, holder: str) -> int:
    return int.from_bytes(devnet.call(token, selector("balanceOf(address)") + encode(["address"], [holder])), "big")


def open_gap(devnet, pool: dict, eth_in: int, account_index: int = 6) -> None:
    """Buy the pool's other token with ETH through the pool's own router (moves its price)."""
    weth = devnet.manifest["contracts"]["weth9"]
    other = pool["token1"] if pool["token0"].lower() == weth.lower() else pool["token0"]
    trader = devnet.account(account_index)
    data = selector("swapExactETHForTokens(uint256,address[],address,uint256)") + encode(
        ["uint256", "address[]", "address", "uint256"], [0, [weth, other], trader.address, int(time.time()) + 600])
    receipt = devnet.transact(trader, pool["router"], data, value=eth_in)
    assert receipt["status"] == "0x1"


def pool_info(pool: dict) -> PoolInfo:
    kind = PoolKind.V3 if pool["dex"] == "uniswap_v3" else PoolKind.V2
    return PoolInfo(address=pool["address"].lower(), dex=pool["dex"], kind=kind, token0=pool["token0"].lower(),
                    token1=pool["token1"].lower(), fee_pips=pool["fee"], tick_spacing=pool.get("tick_spacing"))


async def find_opportunity(devnet, pools: list[dict]):
    weth = devnet.manifest["contracts"]["weth9"].lower()
    infos = [pool_info(p) for p in pools]
    scanner = Scanner(build_cycle_index(infos, start_tokens=[weth]), filters=ScanFilters(max_input=10**20), weth=weth,
                      dex_of=lambda p: next(i.dex for i in infos if i.address == p.lower()))
    async with RpcClient([devnet.rpc_url]) as rpc:
        block = await rpc.block_number()
        snapshots = {i.address: await fetch_snapshot(rpc, i, block) for i in infos}
        for _ in range(8):  # a swap walking past the fetched ticks asks for more; fetch and rescan
            found = scanner.scan([i.address for i in infos], lambda p: snapshots[p.lower()].state,
                                 CostInputs(gas_price_wei=0), block_number=block)
            if not scanner.missing:
                return found
            await fill_missing(rpc, snapshots, scanner.missing)
            scanner.missing.clear()
    raise AssertionError("tick data still missing after 8 rounds")


async def test_profitable_v2_sushi_cycle_with_flash_swap_yields_the_predicted_profit(devnet, executor):
    address, owner = executor
    uni, sushi = devnet.pool("uniswap_v2", "WETH", "USDC"), devnet.pool("sushiswap", "WETH", "USDC")
    open_gap(devnet, uni, 20 * 10**18)
    found = await find_opportunity(devnet, [uni, sushi])
    assert found, "the scanner must see the gap the router swap opened"
    opp = found[0]
    weth = devnet.manifest["contracts"]["weth9"]
    before = balance_of(devnet, weth, address)
    receipt = devnet.transact(owner, address, execute_calldata(opp, min_profit=opp.gross_profit, flash=True),
                              gas=1_000_000)
    assert receipt["status"] == "0x1"
    gained = balance_of(devnet, weth, address) - before
    assert gained == opp.gross_profit  # V2 math is integer-exact with the pairs
    (event,) = executed_events(receipt, address)
    assert (event.profit, event.amount_in, event.flash) == (opp.gross_profit, opp.amount_in, True)


async def test_v3_cycle_through_the_swap_callback_yields_the_predicted_profit(devnet, executor):
    address, owner = executor
    v3 = devnet.pool("uniswap_v3", "WETH", "USDC", 3000)
    v2 = devnet.pool("uniswap_v2", "WETH", "USDC")
    open_gap(devnet, v2, 15 * 10**18, account_index=7)
    found = await find_opportunity(devnet, [v3, v2])
    assert found
    opp = found[0]
    assert {h.kind for h in opp.route} == {"v2", "v3"}
    weth = devnet.manifest["contracts"]["weth9"]
    before = balance_of(devnet, weth, address)
    receipt = devnet.transact(owner, address, execute_calldata(opp, min_profit=0, flash=True), gas=2_000_000)
    assert receipt["status"] == "0x1"
    assert balance_of(devnet, weth, address) - before == opp.gross_profit  # exact for V3 too


async def test_a_route_below_min_profit_reverts_and_leaves_balances_alone(devnet, executor):
    address, owner = executor
    uni, sushi = devnet.pool("uniswap_v2", "WETH", "DAI"), devnet.pool("sushiswap", "WETH", "DAI")
    open_gap(devnet, uni, 10 * 10**18, account_index=8)
    found = await find_opportunity(devnet, [uni, sushi])
    assert found
    opp = found[0]
    weth = devnet.manifest["contracts"]["weth9"]
    before = balance_of(devnet, weth, address)
    calldata = execute_calldata(opp, min_profit=opp.gross_profit + 1, flash=True)
    assert executor_error(devnet, owner, address, calldata) == (
        f"InsufficientProfit(profit={opp.gross_profit}, minProfit={opp.gross_profit + 1})")
    receipt = devnet.transact(owner, address, calldata, gas=1_000_000)
    assert receipt["status"] == "0x0"
    assert balance_of(devnet, weth, address) == before


def executor_error(devnet, sender, to: str, data: bytes) -> str:
    """The executor's custom error that a call reverts with, by name (``eth_call``, same state)."""
    from mevbot.devnet.jsonrpc import ChainRpcError
    from mevbot.execution.contract import describe_executor_error

    try:
        devnet.rpc.call("eth_call", {"from": sender.address, "to": to, "data": "0x" + data.hex()}, "latest")
    except ChainRpcError as exc:
        revert = getattr(exc, "data", None)
        assert isinstance(revert, str) and revert.startswith("0x"), f"no revert data: {exc}"
        described = describe_executor_error(bytes.fromhex(revert[2:]))
        assert described, f"not one of the executor's errors: {revert}"
        return described
    raise AssertionError("the call did not revert")


def test_a_callback_from_anything_but_the_pool_being_called_reverts(devnet, executor):
    address, owner = executor
    data = selector("uniswapV2Call(address,uint256,uint256,bytes)") + encode(
        ["address", "uint256", "uint256", "bytes"], [address, 1, 0, b""])
    assert executor_error(devnet, owner, address, data) == f"UnexpectedCallback(caller={owner.address.lower()})"
    assert devnet.transact(owner, address, data)["status"] == "0x0"
    data = selector("uniswapV3SwapCallback(int256,int256,bytes)") + encode(["int256", "int256", "bytes"], [1, -1, b""])
    stranger = devnet.account(9)
    assert executor_error(devnet, stranger, address, data).startswith("UnexpectedCallback(")
    assert devnet.transact(stranger, address, data)["status"] == "0x0"


@pytest.fixture(scope="module")
def impostors(devnet, executor):
    """Deployed pool impostors (contracts/test/PoolImpostors.sol): real factory, real tokens."""
    from mevbot.devnet.artifacts import compile_standard_json
    from mevbot.execution.contract import REPO_ROOT

    source = "contracts/test/PoolImpostors.sol"
    built = compile_standard_json("solc", {source: (REPO_ROOT / source).read_text()}, optimizer_runs=200)[source]
    _address, owner = executor
    contracts = devnet.manifest["contracts"]
    v2_pool, v3_pool = devnet.pool("uniswap_v2", "WETH", "USDC"), devnet.pool("uniswap_v3", "WETH", "USDC", 3000)

    def deploy(name: str, types: list[str], args: list) -> str:
        code = bytes.fromhex(built[name]["evm"]["bytecode"]["object"]) + encode(types, args)
        receipt = devnet.transact(owner, None, code, gas=2_000_000)
        assert receipt["status"] == "0x1"
        return to_checksum_address(receipt["contractAddress"])

    return {
        "v2": (deploy("V2PairImpostor", ["address", "address", "address"],
                      [v2_pool["token0"], v2_pool["token1"], contracts["uniswap_v2"]["factory"]]), v2_pool),
        "v3": (deploy("V3PoolImpostor", ["address", "address", "uint24", "address"],
                      [v3_pool["token0"], v3_pool["token1"], 3000, contracts["uniswap_v3"]["factory"]]), v3_pool),
    }


@pytest.mark.parametrize("kind", ["v2", "v3"])
def test_a_callback_from_a_pool_impostor_reverts_even_when_the_executor_called_it(devnet, executor, impostors, kind):
    """The impostor names an allowed factory and a real pool's tokens (and fee); only the
    factory's own registry unmasks it."""
    from mevbot.execution.contract import EXECUTE_SELECTOR, encode_hop

    address, owner = executor
    impostor, genuine = impostors[kind]
    weth = devnet.manifest["contracts"]["weth9"]
    zero_for_one = genuine["token0"].lower() == weth.lower()
    hops = [encode_hop(impostor, v3=kind == "v3", zero_for_one=zero_for_one),
            encode_hop(genuine["address"], v3=kind == "v3", zero_for_one=not zero_for_one)]
    data = EXECUTE_SELECTOR + encode(["address", "uint256[]", "uint256", "uint256", "bool"],
                                     [weth, hops, 10**18, 0, True])
    assert executor_error(devnet, owner, address, data) == f"NotAGenuinePool(pool={impostor.lower()})"
    assert devnet.transact(owner, address, data)["status"] == "0x0"


def test_only_the_owner_can_execute_or_withdraw(devnet, executor):
    address, _owner = executor
    stranger = devnet.account(9)
    weth = devnet.manifest["contracts"]["weth9"]
    execute = selector("execute(address,uint256[],uint256,uint256,bool)") + encode(
        ["address", "uint256[]", "uint256", "uint256", "bool"], [weth, [1, 2], 1, 0, False])
    assert executor_error(devnet, stranger, address, execute) == "NotOwner()"
    assert devnet.transact(stranger, address, execute)["status"] == "0x0"
    withdraw = selector("withdrawToken(address,address,uint256)") + encode(
        ["address", "address", "uint256"], [weth, stranger.address, 1])
    assert executor_error(devnet, stranger, address, withdraw) == "NotOwner()"
    assert devnet.transact(stranger, address, withdraw)["status"] == "0x0"


def test_the_owner_withdraws_tokens(devnet, executor):
    address, owner = executor
    weth = devnet.manifest["contracts"]["weth9"]
    held = balance_of(devnet, weth, address)
    if held == 0:  # fund it: wrap ETH and send WETH to the executor
        devnet.transact(owner, weth, selector("deposit()"), value=10**15)
        devnet.transact(owner, weth, selector("transfer(address,uint256)") + encode(["address", "uint256"],
                                                                                    [address, 10**15]))
        held = 10**15
    mine = balance_of(devnet, weth, owner.address)
    withdraw = selector("withdrawToken(address,address,uint256)") + encode(
        ["address", "address", "uint256"], [weth, owner.address, held])
    assert devnet.transact(owner, address, withdraw)["status"] == "0x1"
    assert balance_of(devnet, weth, owner.address) == mine + held
    assert balance_of(devnet, weth, address) == 0


def test_the_build_is_reproducible():
    first, second = compile_executor(), compile_executor()
    assert first.bytecode == second.bytecode and first.abi == second.abi
    assert decode(["address[]", "address[]"], first.deploy_data(["0x" + "11" * 20], [])[len(first.bytecode):])
