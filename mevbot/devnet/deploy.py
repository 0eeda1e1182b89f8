"""Deploy the devnet's contracts and pools onto a fresh anvil, and check what was deployed.

Runs once per cache key (see state_cache): WETH9, the test tokens, Uniswap V2 (factory,
Router02), SushiSwap (its own factory and Router02, compiled from @sushiswap/core), Uniswap V3
(factory, SwapRouter, QuoterV2, NonfungiblePositionManager with the real token descriptor and its
linked NFTDescriptor library), then pools and liquidity per :mod:`mevbot.devnet.market`, then
token balances and router approvals for the dev accounts. Before returning, it proves every
periphery contract computes the addresses of the pools actually deployed: CREATE2 addresses from
the hash each periphery uses must equal the factories' getPair/getPool, and each router/quoter
must quote through each pool.
"""

from __future__ import annotations

import logging
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from mevbot.devnet import accounts, artifacts, market
from mevbot.devnet.abi import decode_result, encode_args, encode_call
from mevbot.devnet.chain import Sender, create2_address
from mevbot.devnet.errors import InitCodeHashMismatch
from mevbot.devnet.jsonrpc import SyncChainRpc

log = logging.getLogger(__name__)

DEADLINE = 2**40
MAX_UINT = 2**256 - 1
V3_PERIPHERY = "@uniswap/v3-periphery"
V3_CORE = "@uniswap/v3-core"


def _address_of(word: bytes) -> str:
    return to_checksum_address(word[-20:])


def _sorted(a: str, b: str) -> tuple[str, str]:
    return (a, b) if int(a, 16) < int(b, 16) else (b, a)


class _Deployment:
    def __init__(self, rpc: SyncChainRpc, chain_id: int) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self.owner = Sender(rpc, accounts.deployer(), chain_id)
        self.tokens: dict[str, dict[str, Any]] = {}
        self.contracts: dict[str, Any] = {}
        self.pools: list[dict[str, Any]] = []

    def address(self, symbol: str) -> str:
        return self.tokens[symbol]["address"]

    def symbol_of(self, address: str) -> str:
        return next(s for s, t in self.tokens.items() if t["address"] == address)

    # --- contracts -------------------------------------------------------------------------
    def deploy_tokens(self) -> None:
        weth = self.owner.deploy(artifacts.waffle_artifact("@uniswap/v2-periphery", "WETH9").bytecode, what="WETH9")
        self.tokens["WETH"] = {"symbol": "WETH", "name": market.WETH.name, "decimals": 18, "address": weth}
        token = artifacts.compile_devnet_token()
        for spec in market.TOKENS:
            address = self.owner.deploy(token.bytecode, encode_args(["string", "string", "uint8"], spec.name,
                                                                    spec.symbol, spec.decimals), what=spec.symbol)
            self.tokens[spec.symbol] = {"symbol": spec.symbol, "name": spec.name, "decimals": spec.decimals,
                                        "address": address}

    def deploy_v2(self) -> None:
        weth = self.address("WETH")
        factory = self.owner.deploy(artifacts.waffle_artifact("@uniswap/v2-core", "UniswapV2Factory").bytecode,
                                    encode_args(["address"], self.owner.account.address), what="UniswapV2Factory")
        router = self.owner.deploy(artifacts.waffle_artifact("@uniswap/v2-periphery", "UniswapV2Router02").bytecode,
                                   encode_args(["address", "address"], factory, weth), what="UniswapV2Router02")
        pair = artifacts.waffle_artifact("@uniswap/v2-core", "UniswapV2Pair")
        self.contracts["uniswap_v2"] = {"factory": factory, "router": router,
                                        "pair_init_code_hash": "0x" + pair.init_code_hash.hex(),
                                        "router_init_code_hash": "0x" + artifacts.uniswap_v2_router_hash().hex(),
                                        "source": "@uniswap/v2-core + @uniswap/v2-periphery artifacts"}
        sushi = artifacts.compile_sushiswap()
        factory = self.owner.deploy(sushi.factory.bytecode, encode_args(["address"], self.owner.account.address),
                                    what="SushiSwap UniswapV2Factory")
        router = self.owner.deploy(sushi.router.bytecode, encode_args(["address", "address"], factory, weth),
                                   what="SushiSwap UniswapV2Router02")
        self.contracts["sushiswap"] = {"factory": factory, "router": router,
                                       "pair_init_code_hash": "0x" + sushi.pair_init_code_hash.hex(),
                                       "router_init_code_hash": "0x" + sushi.pair_init_code_hash.hex(),
                                       "upstream_init_code_hash": "0x" + sushi.upstream_hash.hex(),
                                       "source": "@sushiswap/core sources compiled with solc 0.6.12"}

    def deploy_v3(self) -> None:
        weth = self.address("WETH")
        factory = self.owner.deploy(artifacts.hardhat_artifact(V3_CORE, "UniswapV3Factory.sol/UniswapV3Factory").bytecode,
                                    what="UniswapV3Factory")
        library = self.owner.deploy(artifacts.hardhat_artifact(V3_PERIPHERY, "libraries/NFTDescriptor.sol/NFTDescriptor")
                                    .bytecode, what="NFTDescriptor")
        descriptor_code = artifacts.hardhat_artifact(
            V3_PERIPHERY, "NonfungibleTokenPositionDescriptor.sol/NonfungibleTokenPositionDescriptor"
        ).linked({"NFTDescriptor": library})
        descriptor = self.owner.deploy(descriptor_code.bytecode, encode_args(["address", "bytes32"], weth,
                                                                           b"ETH".ljust(32, b"\0")),
                                       what="NonfungibleTokenPositionDescriptor")
        periphery = {}
        for key, relative in (("swap_router", "SwapRouter.sol/SwapRouter"), ("quoter_v2", "lens/QuoterV2.sol/QuoterV2")):
            periphery[key] = artifacts.hardhat_artifact(V3_PERIPHERY, relative)
        npm = artifacts.hardhat_artifact(V3_PERIPHERY, "NonfungiblePositionManager.sol/NonfungiblePositionManager")
        pool_hash = artifacts.uniswap_v3_pool_hash()
        actual_hash = artifacts.hardhat_artifact(V3_CORE, "UniswapV3Pool.sol/UniswapV3Pool").init_code_hash
        for name, artifact in (*periphery.items(), ("position_manager", npm)):
            if pool_hash not in artifact.bytecode:
                raise InitCodeHashMismatch(f"{name}'s bytecode does not embed POOL_INIT_CODE_HASH 0x{pool_hash.hex()}")
        self.contracts["uniswap_v3"] = {
            "factory": factory,
            "swap_router": self.owner.deploy(periphery["swap_router"].bytecode,
                                             encode_args(["address", "address"], factory, weth), what="SwapRouter"),
            "quoter_v2": self.owner.deploy(periphery["quoter_v2"].bytecode,
                                           encode_args(["address", "address"], factory, weth), what="QuoterV2"),
            "position_manager": self.owner.deploy(npm.bytecode, encode_args(["address", "address", "address"], factory,
                                                                            weth, descriptor),
                                                  what="NonfungiblePositionManager"),
            "token_descriptor": descriptor,
            "nft_descriptor_library": library,
            "pool_init_code_hash": "0x" + actual_hash.hex(),
            "periphery_init_code_hash": "0x" + pool_hash.hex(),
            "source": "@uniswap/v3-core + @uniswap/v3-periphery artifacts",
        }

    # --- liquidity -------------------------------------------------------------------------
    def fund_owner(self) -> None:
        self.rpc.call("anvil_setBalance", self.owner.account.address, hex(10**30))
        for spec in market.TOKENS:
            self.owner.send(self.address(spec.symbol), encode_call("mint(address,uint256)", self.owner.account.address,
                                                                   10**15 * 10**spec.decimals), what=f"mint {spec.symbol}")
        self.owner.send(self.address("WETH"), encode_call("deposit()"), value=10**9 * 10**18, what="wrap ETH")
        spenders = [self.contracts["uniswap_v2"]["router"], self.contracts["sushiswap"]["router"],
                    self.contracts["uniswap_v3"]["position_manager"]]
        for symbol in self.tokens:
            for spender in spenders:
                self.owner.send(self.address(symbol), encode_call("approve(address,uint256)", spender, MAX_UINT),
                                gas=100_000, what=f"approve {symbol}")

    def add_v2_pools(self) -> None:
        for dex in ("uniswap_v2", "sushiswap"):
            info = self.contracts[dex]
            for symbol_a, symbol_b in market.V2_PAIRS:
                usd = market.V2_USD_PER_SIDE[dex]
                a, b = self.address(symbol_a), self.address(symbol_b)
                self.owner.send(info["router"], encode_call(
                    "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)",
                    a, b, market.raw_amount(symbol_a, usd, dex), market.raw_amount(symbol_b, usd, dex), 0, 0,
                    self.owner.account.address, DEADLINE), what=f"{dex} addLiquidity {symbol_a}/{symbol_b}")
                pair = _address_of(self.owner.call(info["factory"], encode_call("getPair(address,address)", a, b)))
                token0, token1 = _sorted(a, b)
                self.pools.append({"dex": dex, "address": pair, "token0": token0, "token1": token1,
                                   "symbols": [self.symbol_of(token0), self.symbol_of(token1)],
                                   "fee": market.V2_FEE_PIPS, "factory": info["factory"], "router": info["router"]})

    def add_v3_pools(self) -> None:
        info = self.contracts["uniswap_v3"]
        for symbol_a, symbol_b, fee in market.V3_POOLS:
            token0, token1 = _sorted(self.address(symbol_a), self.address(symbol_b))
            s0, s1 = self.symbol_of(token0), self.symbol_of(token1)
            price = market.raw_price(s0, s1, "uniswap_v3")
            self.owner.send(info["position_manager"], encode_call(
                "createAndInitializePoolIfNecessary(address,address,uint24,uint160)",
                token0, token1, fee, market.sqrt_price_x96(price)), what=f"create V3 pool {s0}/{s1}/{fee}")
            pool = _address_of(self.owner.call(info["factory"], encode_call("getPool(address,address,uint24)",
                                                                            token0, token1, fee)))
            current_tick = market.tick_at_price(price)
            for spec in market.V3_RANGES[fee]:
                lower, upper = market.range_ticks(current_tick, fee, spec.half_width_ticks)
                params = (token0, token1, fee, lower, upper,
                          market.raw_amount(s0, spec.usd_per_side, "uniswap_v3"),
                          market.raw_amount(s1, spec.usd_per_side, "uniswap_v3"), 0, 0,
                          self.owner.account.address, DEADLINE)
                self.owner.send(info["position_manager"], encode_call(
                    "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))",
                    params), what=f"V3 mint {s0}/{s1}/{fee} {spec.name}")
            self.pools.append({"dex": "uniswap_v3", "address": pool, "token0": token0, "token1": token1,
                               "symbols": [s0, s1], "fee": fee, "tick_spacing": market.V3_TICK_SPACING[fee],
                               "factory": info["factory"], "router": info["swap_router"]})

    def fund_dev_accounts(self) -> None:
        spenders = [self.contracts["uniswap_v2"]["router"], self.contracts["sushiswap"]["router"],
                    self.contracts["uniswap_v3"]["swap_router"], self.contracts["uniswap_v3"]["position_manager"]]
        for account in accounts.funded_accounts():
            for spec in market.TOKENS:
                self.owner.send(self.address(spec.symbol), encode_call(
                    "mint(address,uint256)", account.address, market.raw_amount(spec.symbol, 5_000_000.0, "uniswap_v2")),
                    gas=100_000, what=f"mint {spec.symbol}")
            sender = Sender(self.rpc, account, self.chain_id)
            sender.send(self.address("WETH"), encode_call("deposit()"), value=1000 * 10**18, gas=100_000,
                        what="wrap ETH")
            for symbol in self.tokens:
                for spender in spenders:
                    sender.send(self.address(symbol), encode_call("approve(address,uint256)", spender, MAX_UINT),
                                gas=100_000, what=f"approve {symbol}")

    # --- checks ----------------------------------------------------------------------------
    def check_pool_addresses(self) -> None:
        """Every periphery contract must find the pools the factories actually deployed."""
        for pool in self.pools:
            dex = pool["dex"]
            if dex == "uniswap_v3":
                salt = keccak(abi_encode(["address", "address", "uint24"], [pool["token0"], pool["token1"], pool["fee"]]))
                used_hash = bytes.fromhex(self.contracts[dex]["periphery_init_code_hash"][2:])
            else:
                salt = keccak(bytes.fromhex(pool["token0"][2:]) + bytes.fromhex(pool["token1"][2:]))
                used_hash = bytes.fromhex(self.contracts[dex]["router_init_code_hash"][2:])
            expected = create2_address(pool["factory"], salt, used_hash)
            if expected != pool["address"]:
                raise InitCodeHashMismatch(f"{dex} periphery computes {expected} for {pool['symbols']} fee {pool['fee']}, "
                                           f"but the factory deployed {pool['address']}")
            self._check_quote(pool)

    def _check_quote(self, pool: dict[str, Any]) -> None:
        amount_in = 10 ** self.tokens[pool["symbols"][0]]["decimals"] // 1000
        if pool["dex"] == "uniswap_v3":
            out = self.owner.call(self.contracts["uniswap_v3"]["quoter_v2"], encode_call(
                "quoteExactInputSingle((address,address,uint256,uint24,uint160))",
                (pool["token0"], pool["token1"], amount_in, pool["fee"], 0)))
            amount_out = decode_result(["uint256", "uint160", "uint32", "uint256"], out)[0]
        else:
            out = self.owner.call(pool["router"], encode_call("getAmountsOut(uint256,address[])", amount_in,
                                                              [pool["token0"], pool["token1"]]))
            amount_out = decode_result(["uint256[]"], out)[0][-1]
        if amount_out <= 0:
            raise InitCodeHashMismatch(f"{pool['dex']} periphery quotes nothing through {pool['address']}")


def deploy_all(rpc: SyncChainRpc, chain_id: int) -> dict[str, Any]:
    """Deploy everything onto the (automining) anvil behind ``rpc``; the manifest's chain part."""
    deployment = _Deployment(rpc, chain_id)
    deployment.deploy_tokens()
    deployment.deploy_v2()
    deployment.deploy_v3()
    deployment.fund_owner()
    deployment.add_v2_pools()
    deployment.add_v3_pools()
    deployment.check_pool_addresses()
    deployment.fund_dev_accounts()
    from mevbot.devnet.executor import deploy_executor

    contracts = {"weth9": deployment.address("WETH"), **deployment.contracts}
    executor = deploy_executor(rpc, chain_id, contracts)
    return {
        "contracts": {**contracts, "executor": executor["executor"]},
        "tokens": list(deployment.tokens.values()),
        "pools": deployment.pools,
        "accounts": {"deployer": deployment.owner.account.address,
                     "traders": [a.address for a in accounts.traders()],
                     "spare": [accounts.dev_account(i).address for i in accounts.SPARE_INDICES],
                     "bot": executor["bot"]},
    }
