"""A small real Uniswap deployment on anvil for the parser and registry tests.

Deploys the npm artifacts (WETH9, two test ERC20s, Uniswap V2 factory + Router02, V3 factory +
SwapRouter + NonfungiblePositionManager), then drives them through the user paths whose
calldata and logs the parser must understand: add liquidity, a V2 router swap, create and
initialise a V3 pool, mint a position, a V3 SwapRouter swap and a burn. Transactions are sent
from anvil's unlocked dev account with ``eth_sendTransaction`` (no key handling here).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import attrs
import httpx
from eth_abi import encode
from eth_utils import keccak

from tests.fixtures.anvil import DEV_ACCOUNT, AnvilNode

REPO = Path(__file__).resolve().parents[2]
NM = REPO / "node_modules" / "@uniswap"
DEADLINE = 2**40
V3_FEE = 3000


def _bytecode(path: Path) -> bytes:
    return bytes.fromhex(json.loads(path.read_text())["bytecode"].removeprefix("0x"))


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def calldata(signature: str, *args: Any) -> bytes:
    types = signature[signature.index("(") + 1:-1]
    return selector(signature) + (encode(_split(types), list(args)) if types else b"")


def _split(types: str) -> list[str]:
    out, depth, current = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    return out + [current] if current else out


class Chain:
    """Blocking JSON-RPC to one anvil node."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=30)
        self._id = 0

    def rpc(self, method: str, *params: Any) -> Any:
        self._id += 1
        reply = self.client.post(self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method,
                                                 "params": list(params)}).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def send(self, to: str | None, data: bytes, value: int = 0) -> dict[str, Any]:
        tx = {"from": DEV_ACCOUNT, "data": "0x" + data.hex(), "value": hex(value), "gas": hex(8_000_000)}
        if to is not None:
            tx["to"] = to
        tx_hash = self.rpc("eth_sendTransaction", tx)
        deadline = time.monotonic() + 20
        while True:  # anvil seals the block just after answering: poll the real receipt
            receipt = self.rpc("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no receipt for {tx_hash}")
        if int(receipt["status"], 16) != 1:
            raise RuntimeError(f"tx {tx_hash} to {to} reverted")
        return receipt

    def deploy(self, path: Path, types: list[str] = (), args: list[Any] = ()) -> str:
        receipt = self.send(None, _bytecode(path) + encode(list(types), list(args)))
        return receipt["contractAddress"].lower()

    def call(self, to: str, data: bytes) -> bytes:
        return bytes.fromhex(self.rpc("eth_call", {"to": to, "data": "0x" + data.hex()}, "latest")[2:])

    def close(self) -> None:
        self.client.close()


@attrs.define
class UniswapChain:
    node: AnvilNode
    weth: str
    token_a: str
    token_b: str
    v2_factory: str
    v2_router: str
    v3_factory: str
    swap_router: str
    position_manager: str
    pair: str = ""  # token_a / token_b
    weth_pair: str = ""  # token_a / WETH
    pool: str = ""
    receipts: dict[str, dict[str, Any]] = attrs.Factory(dict)  # step name -> receipt
    inputs: dict[str, tuple[str, bytes, int]] = attrs.Factory(dict)  # step name -> (to, calldata, value)

    @property
    def manifest(self) -> dict[str, Any]:
        """This deployment in the devnet manifest's shape (mevbot/devnet/deploy.py)."""
        return {
            "chain_id": self.node.chain_id, "rpc_url": self.node.url,
            "contracts": {
                "weth9": self.weth,
                "uniswap_v2": {"factory": self.v2_factory, "router": self.v2_router},
                "uniswap_v3": {"factory": self.v3_factory, "swap_router": self.swap_router,
                               "position_manager": self.position_manager},
            },
            "tokens": [], "pools": [],
        }

    def logs(self) -> list[dict[str, Any]]:
        return [entry for receipt in self.receipts.values() for entry in receipt["logs"]]


def build_uniswap_chain(node: AnvilNode) -> UniswapChain:
    chain = Chain(node.url)
    try:
        weth = chain.deploy(NM / "v2-periphery/build/WETH9.json")
        tokens = sorted(chain.deploy(NM / "v2-core/build/ERC20.json", ["uint256"], [10**30]) for _ in range(2))
        v2_factory = chain.deploy(NM / "v2-core/build/UniswapV2Factory.json", ["address"], [DEV_ACCOUNT])
        v2_router = chain.deploy(NM / "v2-periphery/build/UniswapV2Router02.json", ["address", "address"],
                                 [v2_factory, weth])
        art = NM / "v3-core/artifacts/contracts"
        v3_factory = chain.deploy(art / "UniswapV3Factory.sol/UniswapV3Factory.json")
        periphery = NM / "v3-periphery/artifacts/contracts"
        swap_router = chain.deploy(periphery / "SwapRouter.sol/SwapRouter.json", ["address", "address"],
                                   [v3_factory, weth])
        npm = chain.deploy(periphery / "NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
                           ["address", "address", "address"], [v3_factory, weth, DEV_ACCOUNT])
        out = UniswapChain(node, weth, tokens[0], tokens[1], v2_factory, v2_router, v3_factory, swap_router, npm)
        for token in tokens:
            for spender in (v2_router, swap_router, npm):
                chain.send(token, calldata("approve(address,uint256)", spender, 2**256 - 1))
        a, b = tokens

        def step(name: str, to: str, data: bytes, value: int = 0) -> None:
            out.inputs[name] = (to, data, value)
            out.receipts[name] = chain.send(to, data, value)

        step("v2_add_liquidity", v2_router, calldata(
            "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)",
            a, b, 10**21, 2 * 10**21, 0, 0, DEV_ACCOUNT, DEADLINE))
        out.pair = "0x" + chain.call(v2_factory, calldata("getPair(address,address)", a, b))[12:].hex()
        step("v2_swap", v2_router, calldata(
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
            10**18, 1, [a, b], DEV_ACCOUNT, DEADLINE))
        step("v2_add_liquidity_eth", v2_router, calldata(
            "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)",
            a, 10**21, 0, 0, DEV_ACCOUNT, DEADLINE), value=10**20)
        out.weth_pair = "0x" + chain.call(v2_factory, calldata("getPair(address,address)", a, weth))[12:].hex()
        step("v2_swap_eth_in", v2_router, calldata(
            "swapExactETHForTokens(uint256,address[],address,uint256)", 1, [weth, a], DEV_ACCOUNT, DEADLINE),
            value=10**17)
        step("v2_swap_multi_hop", v2_router, calldata(
            "swapExactTokensForETH(uint256,uint256,address[],address,uint256)",
            10**18, 1, [b, a, weth], DEV_ACCOUNT, DEADLINE))
        step("v3_create", npm, calldata(
            "createAndInitializePoolIfNecessary(address,address,uint24,uint160)", a, b, V3_FEE, 2**96))
        out.pool = "0x" + chain.call(v3_factory, calldata("getPool(address,address,uint24)", a, b, V3_FEE))[12:].hex()
        step("v3_mint", npm, calldata(
            "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))",
            (a, b, V3_FEE, -600, 600, 10**20, 10**20, 0, 0, DEV_ACCOUNT, DEADLINE)))
        step("v3_swap", swap_router, calldata(
            "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
            (a, b, V3_FEE, DEV_ACCOUNT, DEADLINE, 10**18, 1, 0)))
        step("v3_swap_exact_out", swap_router, calldata(
            "exactOutputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
            (b, a, V3_FEE, DEV_ACCOUNT, DEADLINE, 10**17, 10**19, 0)))
        step("v3_multicall", swap_router, calldata("multicall(bytes[])", [
            calldata("exactInput((bytes,address,uint256,uint256,uint256))",
                     (bytes.fromhex(a[2:]) + V3_FEE.to_bytes(3, "big") + bytes.fromhex(b[2:]),
                      DEV_ACCOUNT, DEADLINE, 10**16, 1))]))
        step("v3_burn", npm, calldata(
            "decreaseLiquidity((uint256,uint128,uint256,uint256,uint256))", (1, 10**6, 0, 0, DEADLINE)))
        return out
    finally:
        chain.close()
