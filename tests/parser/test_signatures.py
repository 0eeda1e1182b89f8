"""Our hand-written router signatures agree with the published ABIs in node_modules."""

import json
import pathlib

from mevbot.parser.calldata import SIGNATURES, V2_ROUTER02_FUNCTIONS
from mevbot.parser.messages import RouterKind

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _canonical(item):
    def typ(inp):
        if inp["type"].startswith("tuple"):
            return "(" + ",".join(typ(c) for c in inp["components"]) + ")" + inp["type"][5:]
        return inp["type"]
    return f"{item['name']}({','.join(typ(i) for i in item['inputs'])})"


def _functions(path):
    abi = json.loads((ROOT / path).read_text())["abi"]
    return {_canonical(i) for i in abi if i["type"] == "function"}


def test_every_v2_router02_swap_function_is_decoded_with_its_published_signature():
    published = _functions("node_modules/@uniswap/v2-periphery/build/IUniswapV2Router02.json")
    swaps = {s for s in published if s.startswith("swap")}
    assert len(swaps) == 9
    assert set(SIGNATURES[RouterKind.V2_ROUTER02]) == swaps
    assert len(V2_ROUTER02_FUNCTIONS) == 9


def test_v3_swap_router_signatures_are_those_of_the_published_swap_router():
    published = _functions("node_modules/@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json")
    ours = set(SIGNATURES[RouterKind.V3_SWAP_ROUTER])
    assert ours <= published
    assert {s for s in published if s.startswith("exact")} <= ours


def test_every_listed_signature_has_a_decoder_and_no_decoder_is_unlisted():
    from eth_utils import keccak

    from mevbot.parser.calldata import CalldataParser
    parser = CalldataParser(None, {})
    for kind, signatures in SIGNATURES.items():
        assert {keccak(text=s)[:4] for s in signatures} == set(parser._dispatch[kind]), kind
