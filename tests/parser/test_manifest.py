"""Routers and WETH come from the devnet manifest's shape (mevbot/devnet/deploy.py), plus an
explicit ``routers`` list for SwapRouter02 / Universal Router deployments."""

import pytest

from mevbot.parser.calldata import RouterSpec, routers_from_manifest
from mevbot.parser.messages import RouterKind
from mevbot.pools.errors import ManifestError
from mevbot.pools.registry import weth_from_manifest

MANIFEST = {
    "contracts": {
        "weth9": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "uniswap_v2": {"factory": "0x0165878A594ca255338adfa4d48449f69242Eb8F",
                       "router": "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853"},
        "sushiswap": {"factory": "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
                      "router": "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318"},
        "uniswap_v3": {"factory": "0x610178dA211FEF7D417bC0e6FeD39F05609AD788",
                       "swap_router": "0x0DCd1Bf9A1b36cE34237eEaFef220932846BCD82",
                       "quoter_v2": "0x9A676e781A523b5d0C0e43731313A708CB607508"},
    },
    "routers": [{"address": "0x" + "05" * 20, "kind": "universal_router", "v2_dex": "uniswap_v2",
                 "v3_dex": "uniswap_v3"}],
}


def test_routers_of_the_devnet_manifest_map_to_their_kind_and_dex():
    assert routers_from_manifest(MANIFEST) == {
        "0xa513e6e4b8f2a923d98304ec87f64353c4d5c853": RouterSpec(RouterKind.V2_ROUTER02, v2_dex="uniswap_v2"),
        "0x8a791620dd6260079bf849dc5567adc3f2fdc318": RouterSpec(RouterKind.V2_ROUTER02, v2_dex="sushiswap"),
        "0x0dcd1bf9a1b36ce34237eeafef220932846bcd82": RouterSpec(RouterKind.V3_SWAP_ROUTER, v3_dex="uniswap_v3"),
        "0x" + "05" * 20: RouterSpec(RouterKind.UNIVERSAL_ROUTER, "uniswap_v2", "uniswap_v3"),
    }
    assert weth_from_manifest(MANIFEST) == "0x5fbdb2315678afecb367f032d93f642f64180aa3"


def test_an_unknown_router_kind_is_a_manifest_error_naming_the_entry():
    with pytest.raises(ManifestError) as info:
        routers_from_manifest({"routers": [{"address": "0x" + "05" * 20, "kind": "1inch"}]})
    assert info.value.where == "routers[0].kind"
