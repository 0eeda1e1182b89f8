"""Independent calldata builders for the parser tests: eth_abi.encode from the signatures.

These share no code with mevbot.parser.calldata, so a wrong type list there shows up here.
"""

from eth_abi import encode
from eth_utils import keccak

from mevbot.parser.calldata import RouterSpec
from mevbot.parser.messages import PoolKind, RouterKind
from mevbot.parser.pool_address import v2_pair_address, v3_pool_address
from mevbot.pools.registry import (UNISWAP_V2_INIT_CODE_HASH, UNISWAP_V3_INIT_CODE_HASH, DexInfo, PoolInfo,
                                   PoolRegistry)

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
C = "0x" + "c3" * 20
WETH = "0x" + "e0" * 20
UNLISTED = "0x" + "d4" * 20
USER = "0x" + "75" * 20
V2_FACTORY = "0x" + "f2" * 20
SUSHI_FACTORY = "0x" + "5f" * 20
V3_FACTORY = "0x" + "f3" * 20
V2_ROUTER = "0x" + "01" * 20
SUSHI_ROUTER = "0x" + "02" * 20
V3_ROUTER = "0x" + "03" * 20
SR02 = "0x" + "04" * 20
UR = "0x" + "05" * 20
ROUTERS = {
    V2_ROUTER: RouterSpec(RouterKind.V2_ROUTER02, v2_dex="uniswap_v2"),
    SUSHI_ROUTER: RouterSpec(RouterKind.V2_ROUTER02, v2_dex="sushiswap"),
    V3_ROUTER: RouterSpec(RouterKind.V3_SWAP_ROUTER, v3_dex="uniswap_v3"),
    SR02: RouterSpec(RouterKind.V3_SWAP_ROUTER02, v2_dex="uniswap_v2", v3_dex="uniswap_v3"),
    UR: RouterSpec(RouterKind.UNIVERSAL_ROUTER, v2_dex="uniswap_v2", v3_dex="uniswap_v3"),
}
MSG_SENDER = "0x" + "00" * 19 + "01"
ADDRESS_THIS = "0x" + "00" * 19 + "02"
UR_BALANCE = 1 << 255


def v2(a, b, factory=V2_FACTORY):
    return v2_pair_address(factory, UNISWAP_V2_INIT_CODE_HASH, a, b)


def v3(a, b, fee):
    return v3_pool_address(V3_FACTORY, UNISWAP_V3_INIT_CODE_HASH, a, b, fee)


def make_registry() -> PoolRegistry:
    registry = PoolRegistry(dexes=[
        DexInfo("uniswap_v2", PoolKind.V2, V2_FACTORY, UNISWAP_V2_INIT_CODE_HASH),
        DexInfo("sushiswap", PoolKind.V2, SUSHI_FACTORY, UNISWAP_V2_INIT_CODE_HASH),
        DexInfo("uniswap_v3", PoolKind.V3, V3_FACTORY, UNISWAP_V3_INIT_CODE_HASH),
    ])
    for dex, factory in (("uniswap_v2", V2_FACTORY), ("sushiswap", SUSHI_FACTORY)):
        for x, y in ((A, B), (B, C), (A, WETH), (B, WETH)):
            t0, t1 = sorted((x, y))
            registry.add_pool(PoolInfo(v2(x, y, factory), dex, PoolKind.V2, t0, t1, 3000))
    for x, y, fee in ((A, B, 500), (B, C, 3000), (A, WETH, 500), (B, WETH, 3000)):
        t0, t1 = sorted((x, y))
        registry.add_pool(PoolInfo(v3(x, y, fee), "uniswap_v3", PoolKind.V3, t0, t1, fee, 10))
    return registry


def call(signature: str, types, args) -> bytes:
    return keccak(text=signature)[:4] + encode(list(types), list(args))


def v3_path(*items) -> bytes:
    """v3_path(A, 500, B, 3000, C) -> packed path."""
    out = b""
    for item in items:
        out += bytes.fromhex(item[2:]) if isinstance(item, str) else item.to_bytes(3, "big")
    return out


def ur_execute(commands: bytes, inputs, deadline=None) -> bytes:
    if deadline is None:
        return call("execute(bytes,bytes[])", ["bytes", "bytes[]"], [commands, inputs])
    return call("execute(bytes,bytes[],uint256)", ["bytes", "bytes[]", "uint256"], [commands, inputs, deadline])


def ur_swap(recipient, amount, limit, path, payer_is_user=True) -> bytes:
    if isinstance(path, bytes):
        return encode(["address", "uint256", "uint256", "bytes", "bool"], [recipient, amount, limit, path, payer_is_user])
    return encode(["address", "uint256", "uint256", "address[]", "bool"], [recipient, amount, limit, path, payer_is_user])


def ur_wrap(recipient, amount) -> bytes:
    return encode(["address", "uint256"], [recipient, amount])
