"""The manifest names every contract, token and pool, and the chain behind it matches it."""

from __future__ import annotations

import pytest

from mevbot.devnet.abi import decode_result, encode_call
from mevbot.devnet.chain import create2_address
from mevbot.devnet.manifest import REQUIRED_KEYS

pytestmark = pytest.mark.devnet


def test_manifest_has_the_keys_config_and_the_bot_rely_on(devnet):
    for key in REQUIRED_KEYS:
        assert key in devnet.manifest
    assert devnet.manifest["chain_id"] == 42161
    assert devnet.manifest["feed"]["sequence_number_offset"] == 0


def test_chain_runs_with_arbitrum_ones_chain_id(devnet):
    assert int(devnet.rpc.call("eth_chainId"), 16) == 42161


def test_tokens_have_realistic_decimals_on_chain(devnet):
    decimals = {}
    for token in devnet.manifest["tokens"]:
        decimals[token["symbol"]] = decode_result(["uint8"], devnet.call(token["address"], encode_call("decimals()")))[0]
        assert decimals[token["symbol"]] == token["decimals"]
    assert {6, 8, 18} <= set(decimals.values())
    assert len(decimals) >= 5  # WETH and at least four test tokens


def test_every_dex_has_pools_and_v3_has_every_fee_tier(devnet):
    pools = devnet.manifest["pools"]
    assert {p["dex"] for p in pools} == {"uniswap_v2", "sushiswap", "uniswap_v3"}
    assert {p["fee"] for p in pools if p["dex"] == "uniswap_v3"} == {500, 3000, 10000}
    for pool in pools:
        assert int(pool["token0"], 16) < int(pool["token1"], 16)
        assert devnet.rpc.call("eth_getCode", pool["address"], "latest") != "0x"


def test_every_pool_address_is_what_the_periphery_computes(devnet):
    from eth_abi import encode
    from eth_utils import keccak

    contracts = devnet.manifest["contracts"]
    for pool in devnet.manifest["pools"]:
        if pool["dex"] == "uniswap_v3":
            salt = keccak(encode(["address", "address", "uint24"], [pool["token0"], pool["token1"], pool["fee"]]))
            init_hash = contracts["uniswap_v3"]["periphery_init_code_hash"]
        else:
            salt = keccak(bytes.fromhex(pool["token0"][2:] + pool["token1"][2:]))
            init_hash = contracts[pool["dex"]]["router_init_code_hash"]
        assert create2_address(pool["factory"], salt, bytes.fromhex(init_hash[2:])) == pool["address"]


def test_sushiswap_router_was_rebuilt_for_the_pair_code_actually_deployed(devnet):
    sushi = devnet.manifest["contracts"]["sushiswap"]
    assert sushi["router_init_code_hash"] == sushi["pair_init_code_hash"]
    uniswap = devnet.manifest["contracts"]["uniswap_v2"]
    assert uniswap["router_init_code_hash"] == uniswap["pair_init_code_hash"]
