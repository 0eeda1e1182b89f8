"""Noise traders: one seed, one sequence of trades; every kind swaps through the real routers."""

from __future__ import annotations

import itertools
import socket

import pytest

from mevbot.devnet.abi import decode_result, encode_call
from mevbot.devnet.jsonrpc import ChainRpc
from mevbot.devnet.traders import KINDS, TradePlanner, TrafficOptions, _pending_nonce, encode_trade, run_traffic


def plan(manifest, seed: int, n: int = 40):
    planner = TradePlanner(manifest, TrafficOptions(seed=seed))
    return [planner.next_trade() for _ in range(n)]


@pytest.mark.devnet
def test_the_same_seed_plans_the_same_trades_and_another_seed_does_not(devnet):
    assert plan(devnet.manifest, 7) == plan(devnet.manifest, 7)
    assert plan(devnet.manifest, 7) != plan(devnet.manifest, 8)


@pytest.mark.devnet
def test_every_kind_of_swap_is_planned_within_one_cycle(devnet):
    assert {t.kind for t in plan(devnet.manifest, 3, n=len(KINDS))} == set(KINDS)


@pytest.mark.devnet
def test_trade_sizes_respect_the_configured_maximum(devnet):
    planner = TradePlanner(devnet.manifest, TrafficOptions(seed=1, median_usd=5000, sigma=3.0, max_usd=9000))
    assert max(planner.next_trade().usd for _ in range(300)) <= 9000


@pytest.mark.devnet
def test_encoded_eth_trades_send_value_and_token_trades_do_not(devnet):
    for trade in plan(devnet.manifest, 11, n=2 * len(KINDS)):
        _, _, value, _ = encode_trade(devnet.manifest, trade, devnet.account(1).address)
        eth_in = trade.kind in ("v2_exact_eth_for_tokens", "v2_eth_for_exact_tokens", "v3_multicall_eth_in")
        assert (value > 0) == eth_in


def _pool_states(devnet):
    states = {}
    for pool in devnet.manifest["pools"]:
        selector = "slot0()" if pool["dex"] == "uniswap_v3" else "getReserves()"
        states[pool["address"]] = devnet.call(pool["address"], encode_call(selector))
    return states


@pytest.mark.devnet
async def test_noise_traffic_swaps_every_kind_successfully_and_moves_pools_on_every_dex(devnet):
    before = _pool_states(devnet)

    stats = await run_traffic(devnet.manifest, TrafficOptions(seed=5, rate_per_s=40.0, count=2 * len(KINDS)))

    assert stats.sent == 2 * len(KINDS)
    assert stats.reverted == 0 and stats.send_failed == 0
    assert set(stats.by_kind) == set(KINDS)
    after = _pool_states(devnet)
    moved = {p["dex"] for p in devnet.manifest["pools"] if before[p["address"]] != after[p["address"]]}
    assert moved == {"uniswap_v2", "sushiswap", "uniswap_v3"}


@pytest.mark.devnet
def test_traffic_mixes_envelope_types_like_arbitrum_one(devnet):
    types = {t.tx_type for t in plan(devnet.manifest, 4, n=200)}
    assert types == {0, 1, 2}


async def test_a_refused_send_with_the_node_gone_keeps_the_held_nonce_and_logs_why(caplog):
    """After a refused send the trader re-reads its nonce; with the node gone too (a demo stopping,
    anvil first) it keeps the one it holds and says so, instead of raising out of the traffic."""
    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with ChainRpc(f"http://127.0.0.1:{port}", timeout_s=2) as rpc:
        with caplog.at_level("WARNING", logger="mevbot.devnet.traders"):
            assert await _pending_nonce(rpc, "0x" + "11" * 20, 7) == 7
    assert "nonce of 0x1111" in caplog.text and "keeping 7" in caplog.text and "no answer" in caplog.text
