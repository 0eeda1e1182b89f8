"""The pool registry: manifest loading, lookups, SQLite persistence, and discovery against
real Uniswap factories on anvil through the project's RPC client."""

import collections

import pytest

from mevbot.parser.messages import PoolKind
from mevbot.parser.pool_address import v2_pair_address, v3_pool_address
from mevbot.pools.errors import DiscoveryError, ManifestError
from mevbot.pools.registry import (UNISWAP_V2_INIT_CODE_HASH, UNISWAP_V3_INIT_CODE_HASH, PoolDiscovery, PoolInfo,
                                   PoolRegistry, TokenInfo, decode_symbol)
from mevbot.rpc.client import RpcClient
from tests.fixtures.anvil import AnvilNode
from tests.parser.chain import build_uniswap_chain

WETH = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
USDC = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
V2_FACTORY = "0x0165878A594ca255338adfa4d48449f69242Eb8F"
V3_FACTORY = "0x610178dA211FEF7D417bC0e6FeD39F05609AD788"
SUSHI_HASH = "0x71e41cb45e17233ba1d641e88ae4d57f94db6315c5747eb7614b20ac31a686fb"
# The devnet manifest's shape (mevbot/devnet/deploy.py), trimmed to one pool per DEX.
MANIFEST = {
    "chain_id": 42161,
    "contracts": {
        "weth9": WETH,
        "uniswap_v2": {"factory": V2_FACTORY, "router": "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853",
                       "pair_init_code_hash": UNISWAP_V2_INIT_CODE_HASH},
        "sushiswap": {"factory": "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
                      "router": "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318", "pair_init_code_hash": SUSHI_HASH},
        "uniswap_v3": {"factory": V3_FACTORY, "swap_router": "0x0DCd1Bf9A1b36cE34237eEaFef220932846BCD82",
                       "pool_init_code_hash": UNISWAP_V3_INIT_CODE_HASH},
    },
    "tokens": [{"symbol": "WETH", "decimals": 18, "address": WETH},
               {"symbol": "USDC", "decimals": 6, "address": USDC}],
    "pools": [
        {"dex": "uniswap_v2", "address": v2_pair_address(V2_FACTORY, UNISWAP_V2_INIT_CODE_HASH, WETH, USDC),
         "token0": WETH, "token1": USDC, "fee": 3000},
        {"dex": "uniswap_v3", "address": v3_pool_address(V3_FACTORY, UNISWAP_V3_INIT_CODE_HASH, WETH, USDC, 500),
         "token0": WETH, "token1": USDC, "fee": 500, "tick_spacing": 10},
    ],
}


def test_manifest_gives_dexes_pools_and_tokens_and_lookups_work_in_either_token_order():
    registry = PoolRegistry.from_manifest(MANIFEST)
    assert {d.name: d.kind for d in registry.dexes.values()} == {
        "uniswap_v2": PoolKind.V2, "sushiswap": PoolKind.V2, "uniswap_v3": PoolKind.V3}
    assert registry.dexes["sushiswap"].init_code_hash == SUSHI_HASH
    v2 = registry.find_pool("uniswap_v2", USDC, WETH)
    v3 = registry.find_pool("uniswap_v3", USDC.lower(), WETH, 500)
    assert v2.address == MANIFEST["pools"][0]["address"] and v2.fee_pips == 3000
    assert v3.tick_spacing == 10 and registry.pool(v3.address.upper().replace("0X", "0x")) == v3
    assert registry.find_pool("uniswap_v3", USDC, WETH, 3000) is None
    assert registry.find_pool("sushiswap", USDC, WETH) is None
    assert registry.token(USDC) == TokenInfo(USDC.lower(), 6, "USDC")


def test_pool_address_is_the_create2_address_with_the_dexs_own_init_code_hash():
    registry = PoolRegistry.from_manifest(MANIFEST)
    factory = MANIFEST["contracts"]["sushiswap"]["factory"]
    assert registry.pool_address("sushiswap", WETH, USDC) == v2_pair_address(factory, SUSHI_HASH, USDC, WETH)
    assert registry.pool_address("uniswap_v3", WETH, USDC, 500) == MANIFEST["pools"][1]["address"]
    assert registry.pool_address("uniswap_v3", WETH, USDC) is None
    assert registry.pool_address("nope", WETH, USDC) is None


@pytest.mark.parametrize("mutate, where", [
    (lambda m: m["pools"][0].update(dex="pancake"), "pools[0].dex"),
    (lambda m: m["pools"][1].pop("fee"), "pools[1].fee"),
    (lambda m: m["pools"][0].update(token0="0x1234"), "pools[0].token0"),
    (lambda m: m["contracts"]["uniswap_v2"].update(factory=None), "contracts.uniswap_v2.factory"),
    (lambda m: m["tokens"][0].pop("decimals"), "tokens[0]"),
])
def test_a_bad_manifest_names_the_field_at_fault(mutate, where):
    import copy
    manifest = copy.deepcopy(MANIFEST)
    mutate(manifest)
    with pytest.raises(ManifestError) as info:
        PoolRegistry.from_manifest(manifest)
    assert info.value.where == where


def test_pools_tokens_and_scan_progress_survive_a_restart(tmp_path):
    db = str(tmp_path / "registry.sqlite")
    first = PoolRegistry.from_manifest(MANIFEST, db_path=db)
    extra = PoolInfo("0x" + "ab" * 20, "uniswap_v3", PoolKind.V3, "0x" + "01" * 20, "0x" + "02" * 20, 100, 1)
    first.add_pool(extra)
    first.add_token(TokenInfo("0x" + "01" * 20, 8, "WBTC"))
    first.mark_scanned(V2_FACTORY, 1234)
    first.close()
    again = PoolRegistry(db)  # no manifest: everything comes from the database
    assert again.pool(extra.address) == extra
    assert again.token("0x" + "01" * 20).symbol == "WBTC"
    assert len(again.pools()) == 3 and again.scanned_up_to(V2_FACTORY) == 1234
    again.add_dex(PoolRegistry.from_manifest(MANIFEST).dexes["uniswap_v3"])
    assert again.find_pool("uniswap_v3", "0x" + "02" * 20, "0x" + "01" * 20, 100) == extra


def test_symbol_decodes_strings_and_legacy_bytes32():
    from eth_abi import encode
    assert decode_symbol(encode(["string"], ["USDC"])) == "USDC"
    assert decode_symbol(b"MKR".ljust(32, b"\0")) == "MKR"
    assert decode_symbol(b"\x01\x02") == ""


# -- discovery on a real chain ---------------------------------------------------------------

@pytest.fixture(scope="module")
def uniswap():
    with AnvilNode() as node:
        yield build_uniswap_chain(node)


class CountingRpc:
    """The project's RPC client, counting what discovery asks of it."""

    def __init__(self, client):
        self.client = client
        self.calls = collections.Counter()

    async def eth_call(self, to, data, block="latest"):
        self.calls["eth_call"] += 1
        return await self.client.eth_call(to, data, block)

    async def get_logs(self, filter_):
        self.calls["get_logs"] += 1
        return await self.client.get_logs(filter_)


def _manifest(uniswap):
    manifest = uniswap.manifest
    return {k: v for k, v in manifest.items() if k != "pools"}


@pytest.mark.devnet
async def test_factory_scan_finds_the_pair_and_pool_with_token_facts_and_a_restart_reads_nothing_again(
        uniswap, tmp_path):
    db = str(tmp_path / "registry.sqlite")
    async with RpcClient([uniswap.node.url]) as client:
        rpc = CountingRpc(client)
        registry = PoolRegistry.from_manifest(_manifest(uniswap), db_path=db)
        discovery = PoolDiscovery(registry, rpc.eth_call, rpc.get_logs)
        pairs = {p.address: p for p in await discovery.scan_factory("uniswap_v2")}
        (pool,) = await discovery.scan_factory("uniswap_v3")
        assert set(pairs) == {uniswap.pair, uniswap.weth_pair}
        pair = pairs[uniswap.pair]
        assert (pair.token0, pair.token1) == (uniswap.token_a, uniswap.token_b)
        assert pool.address == uniswap.pool and (pool.fee_pips, pool.tick_spacing) == (3000, 60)
        token = registry.token(uniswap.token_a)
        assert (token.decimals, token.symbol) == (18, "UNI-V2")  # the v2-core test ERC20
        assert registry.token(uniswap.weth).symbol == "WETH"
        assert rpc.calls == {"get_logs": 2, "eth_call": 6}  # decimals + symbol of three tokens, once
        registry.close()

        rpc.calls.clear()
        restarted = PoolRegistry.from_manifest(_manifest(uniswap), db_path=db)
        again = PoolDiscovery(restarted, rpc.eth_call, rpc.get_logs)
        assert await again.scan_factory("uniswap_v2") == []  # resumes after the last scanned block
        assert await again.find_pool("uniswap_v3", uniswap.token_b, uniswap.token_a, 3000) == pool
        assert await again.describe_pool(uniswap.pair, "uniswap_v2") == pair
        assert rpc.calls == {"get_logs": 1}
        restarted.close()


@pytest.mark.devnet
async def test_get_pair_and_get_pool_discover_pools_the_registry_has_not_seen(uniswap):
    async with RpcClient([uniswap.node.url]) as client:
        rpc = CountingRpc(client)
        registry = PoolRegistry.from_manifest(_manifest(uniswap))
        discovery = PoolDiscovery(registry, rpc.eth_call, rpc.get_logs)
        pair = await discovery.find_pool("uniswap_v2", uniswap.token_b, uniswap.token_a)
        pool = await discovery.find_pool("uniswap_v3", uniswap.token_a, uniswap.token_b, 3000)
        assert (pair.address, pool.address) == (uniswap.pair, uniswap.pool)
        assert pool.tick_spacing == 60 and pool.fee_pips == 3000
        # getPair, token0, token1, 2 x (decimals, symbol); getPool, token0, token1, fee, tickSpacing
        assert rpc.calls == {"eth_call": 3 + 4 + 5}
        assert await discovery.find_pool("uniswap_v3", uniswap.token_a, uniswap.token_b, 500) is None
        assert registry.find_pool("uniswap_v2", uniswap.token_a, uniswap.token_b) == pair


@pytest.mark.devnet
async def test_tokens_that_do_not_answer_are_reported_not_registered(uniswap):
    async with RpcClient([uniswap.node.url]) as client:
        registry = PoolRegistry.from_manifest(_manifest(uniswap))
        discovery = PoolDiscovery(registry, client.eth_call, client.get_logs)
        not_a_token = "0x" + "42" * 20  # no code: eth_call returns empty bytes
        result = await discovery.ensure_tokens([not_a_token, uniswap.weth])
        assert isinstance(result[not_a_token], DiscoveryError) and "decimals" in str(result[not_a_token])
        assert registry.token(not_a_token) is None
        assert registry.token(uniswap.weth).symbol == "WETH"


@pytest.mark.devnet
async def test_a_windowed_factory_scan_reads_each_window_and_saves_progress(uniswap):
    async with RpcClient([uniswap.node.url]) as client:
        rpc = CountingRpc(client)
        registry = PoolRegistry.from_manifest(_manifest(uniswap))
        discovery = PoolDiscovery(registry, rpc.eth_call, rpc.get_logs)
        head = await client.block_number()
        pools = await discovery.scan_factory("uniswap_v3", to_block=head, blocks_per_query=4)
        assert [p.address for p in pools] == [uniswap.pool]
        assert rpc.calls["get_logs"] == (head + 4) // 4 and registry.scanned_up_to(uniswap.v3_factory) == head
        with pytest.raises(DiscoveryError, match="windowed"):
            await discovery.scan_factory("uniswap_v3", blocks_per_query=4)


async def test_discovery_on_an_unknown_dex_is_a_registry_error():
    from mevbot.pools.errors import RegistryError

    async def never(*args):
        raise AssertionError("no chain read expected")

    discovery = PoolDiscovery(PoolRegistry.from_manifest(MANIFEST), never, never)
    with pytest.raises(RegistryError, match="unknown DEX 'pancake'"):
        await discovery.find_pool("pancake", WETH, USDC)


@pytest.mark.devnet
async def test_with_a_batch_function_pool_and_token_reads_go_out_as_json_rpc_batches(uniswap):
    async with RpcClient([uniswap.node.url]) as client:
        rpc = CountingRpc(client)

        async def call_batch(requests):
            rpc.calls["batch"] += 1
            results = await client.batch([("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
                                          for to, data in requests])
            return [bytes.fromhex(r[2:]) if isinstance(r, str) else r for r in results]

        registry = PoolRegistry.from_manifest(_manifest(uniswap))
        discovery = PoolDiscovery(registry, rpc.eth_call, rpc.get_logs, call_batch=call_batch)
        pool = await discovery.find_pool("uniswap_v3", uniswap.token_a, uniswap.token_b, 3000)
        assert (pool.address, pool.fee_pips, pool.tick_spacing) == (uniswap.pool, 3000, 60)
        assert registry.token(uniswap.token_b).decimals == 18
        assert rpc.calls == {"eth_call": 1, "batch": 2}  # getPool; pool facts; both tokens' facts
        not_a_token = "0x" + "42" * 20
        result = await discovery.ensure_tokens([not_a_token, uniswap.weth])
        assert isinstance(result[not_a_token], DiscoveryError) and result[uniswap.weth].symbol == "WETH"


def test_a_corrupt_registry_database_is_a_registry_error_naming_the_file(tmp_path):
    from mevbot.pools.errors import RegistryError

    path = tmp_path / "registry.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(RegistryError, match="registry.sqlite is unusable"):
        PoolRegistry(str(path))


def test_a_pool_with_identical_tokens_in_the_manifest_is_a_manifest_error():
    import copy
    manifest = copy.deepcopy(MANIFEST)
    manifest["pools"][0]["token1"] = WETH
    with pytest.raises(ManifestError, match="identical"):
        PoolRegistry.from_manifest(manifest)
