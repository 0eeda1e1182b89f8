"""CREATE2 pool addresses against real mainnet deployments and the npm artifacts' bytecode."""

import json
import pathlib

import pytest
from eth_utils import keccak

from mevbot.parser.pool_address import sort_tokens, v2_pair_address, v3_pool_address
from mevbot.pools.registry import UNISWAP_V2_INIT_CODE_HASH, UNISWAP_V3_INIT_CODE_HASH

ROOT = pathlib.Path(__file__).resolve().parents[2]
V2_FACTORY = "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f"  # docs.uniswap.org, V2 deployments
V3_FACTORY = "0x1F98431c8aD98523631AE4a59f267346ea31F984"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F"


@pytest.mark.parametrize("a, b, expected", [
    (USDC, WETH, "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"),
    (WETH, USDC, "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"),
    (DAI, WETH, "0xA478c2975Ab1Ea89e8196811F51A7B7Ade33eB11"),
])
def test_v2_pair_address_matches_mainnet_pairs_in_either_token_order(a, b, expected):
    assert v2_pair_address(V2_FACTORY, UNISWAP_V2_INIT_CODE_HASH, a, b) == expected.lower()


@pytest.mark.parametrize("a, b, fee, expected", [
    (USDC, WETH, 500, "0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640"),
    (WETH, USDC, 3000, "0x8ad599c3A0ff1De082011EFDDc58f1908eb6e6D8"),
])
def test_v3_pool_address_matches_mainnet_pools(a, b, fee, expected):
    assert v3_pool_address(V3_FACTORY, UNISWAP_V3_INIT_CODE_HASH, a, b, fee) == expected.lower()


def test_init_code_hashes_are_those_of_the_npm_pair_and_pool_bytecode():
    pair = json.loads((ROOT / "node_modules/@uniswap/v2-core/build/UniswapV2Pair.json").read_text())
    pool = json.loads((ROOT / "node_modules/@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/"
                               "UniswapV3Pool.json").read_text())
    assert "0x" + keccak(bytes.fromhex(pair["bytecode"].removeprefix("0x"))).hex() == UNISWAP_V2_INIT_CODE_HASH
    assert "0x" + keccak(bytes.fromhex(pool["bytecode"].removeprefix("0x"))).hex() == UNISWAP_V3_INIT_CODE_HASH


def test_identical_tokens_and_bad_lengths_are_rejected():
    with pytest.raises(ValueError, match="identical"):
        sort_tokens(USDC, USDC.lower())
    with pytest.raises(ValueError, match="20"):
        v2_pair_address("0x1234", UNISWAP_V2_INIT_CODE_HASH, USDC, WETH)
    with pytest.raises(ValueError, match="uint24"):
        v3_pool_address(V3_FACTORY, UNISWAP_V3_INIT_CODE_HASH, USDC, WETH, 1 << 24)
