"""A real swap through each DEX's real router moves that DEX's pool exactly as its math says."""

from __future__ import annotations

import pytest

from mevbot.devnet.abi import decode_result, encode_call

pytestmark = pytest.mark.devnet

DEADLINE = 2**40
SPARE = 5  # a spare dev account: funded and approved at deploy time, never used by the traders


def reserves(devnet, pool) -> tuple[int, int]:
    r0, r1, _ = decode_result(["uint112", "uint112", "uint32"], devnet.call(pool["address"], encode_call("getReserves()")))
    return r0, r1


def slot0(devnet, pool) -> tuple[int, int]:
    out = devnet.call(pool["address"], encode_call("slot0()"))
    sqrt_price, tick = decode_result(["uint160", "int24", "uint16", "uint16", "uint16", "uint8", "bool"], out)[:2]
    return sqrt_price, tick


def liquidity(devnet, pool) -> int:
    return decode_result(["uint128"], devnet.call(pool["address"], encode_call("liquidity()")))[0]


def v2_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


@pytest.mark.parametrize("dex", ["uniswap_v2", "sushiswap"])
def test_swap_exact_tokens_through_v2_router_moves_reserves_by_the_constant_product(devnet, dex):
    pool = devnet.pool(dex, "WETH", "USDC")
    usdc = devnet.token("USDC")["address"]
    weth = devnet.token("WETH")["address"]
    usdc_is_token0 = pool["token0"] == usdc
    before = reserves(devnet, pool)
    r_usdc, r_weth = (before[0], before[1]) if usdc_is_token0 else (before[1], before[0])
    amount_in = 25_000 * 10**6
    expected_out = v2_amount_out(amount_in, r_usdc, r_weth)
    trader = devnet.account(SPARE)

    receipt = devnet.transact(trader, pool["router"], encode_call(
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        amount_in, expected_out, [usdc, weth], trader.address, DEADLINE))

    assert int(receipt["status"], 16) == 1
    after = reserves(devnet, pool)
    a_usdc, a_weth = (after[0], after[1]) if usdc_is_token0 else (after[1], after[0])
    assert a_usdc - r_usdc == amount_in
    assert r_weth - a_weth == expected_out


@pytest.mark.parametrize("dex", ["uniswap_v2", "sushiswap"])
def test_swap_exact_eth_for_tokens_wraps_the_value_into_the_pair(devnet, dex):
    pool = devnet.pool(dex, "WETH", "USDT")
    weth = devnet.token("WETH")["address"]
    usdt = devnet.token("USDT")["address"]
    weth_index = 0 if pool["token0"] == weth else 1
    before = reserves(devnet, pool)
    value = 3 * 10**18
    trader = devnet.account(SPARE)

    receipt = devnet.transact(trader, pool["router"], encode_call(
        "swapExactETHForTokens(uint256,address[],address,uint256)", 1, [weth, usdt], trader.address, DEADLINE),
        value=value)

    assert int(receipt["status"], 16) == 1
    after = reserves(devnet, pool)
    assert after[weth_index] - before[weth_index] == value
    assert after[1 - weth_index] == before[1 - weth_index] - v2_amount_out(value, before[weth_index],
                                                                           before[1 - weth_index])


def test_v3_exact_input_single_pays_the_quoted_amount_and_crosses_ticks(devnet):
    pool = devnet.pool("uniswap_v3", "WETH", "USDC", 500)
    v3 = devnet.manifest["contracts"]["uniswap_v3"]
    usdc = devnet.token("USDC")["address"]
    weth = devnet.token("WETH")["address"]
    zero_for_one = pool["token0"] == usdc  # selling USDC
    amount_in = 150_000 * 10**6  # enough to leave the narrow range around the start price
    price_before, tick_before = slot0(devnet, pool)
    liquidity_before = liquidity(devnet, pool)
    quoted = decode_result(["uint256", "uint160", "uint32", "uint256"], devnet.call(v3["quoter_v2"], encode_call(
        "quoteExactInputSingle((address,address,uint256,uint24,uint160))", (usdc, weth, amount_in, 500, 0))))
    trader = devnet.account(SPARE)
    balance = lambda: decode_result(["uint256"], devnet.call(weth, encode_call("balanceOf(address)", trader.address)))[0]  # noqa: E731
    weth_before = balance()

    receipt = devnet.transact(trader, v3["swap_router"], encode_call(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
        (usdc, weth, 500, trader.address, DEADLINE, amount_in, quoted[0], 0)))

    assert int(receipt["status"], 16) == 1
    price_after, tick_after = slot0(devnet, pool)
    assert balance() - weth_before == quoted[0]
    assert price_after == quoted[1]
    assert (price_after < price_before) if zero_for_one else (price_after > price_before)
    assert quoted[2] >= 1, "the quoter saw no initialized tick crossed"
    assert liquidity(devnet, pool) != liquidity_before
    assert tick_after != tick_before
