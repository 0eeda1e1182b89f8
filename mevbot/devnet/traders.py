"""Noise traders: seeded, reproducible swaps through the devnet's real routers.

Each trade is planned from a seeded ``random.Random`` alone (which trader, which kind of swap,
which DEX and pool, which direction, what size), so one seed always yields the same sequence of
trades; only the moments they are sent depend on the clock. Kinds cover what real users send:
Uniswap V2 and SushiSwap Router02 ``swapExact*``/``swap*ForExact*`` (token and ETH variants),
Uniswap V3 SwapRouter ``exactInputSingle``, multi-hop ``exactInput``, and ``multicall``
(ETH in, ``refundETH``). Sizes are log-normal in USD around a median, so small trades dominate and
a few large ones open cross-DEX price gaps. Traders are anvil's dev accounts 1..4 (funded and
approved at deploy time); transactions are mostly EIP-1559 with some legacy and EIP-2930
envelopes, signed with eth-account and sent raw.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs
import trio

from mevbot.devnet import accounts, market
from mevbot.devnet.abi import encode_call
from mevbot.devnet.chain import sign_typed
from mevbot.devnet.errors import ChainRpcError, ManifestError
from mevbot.devnet.jsonrpc import ChainRpc

if TYPE_CHECKING:
    from mevbot.devnet.settings import DevnetSettings

log = logging.getLogger(__name__)

DEADLINE = 2**40
KINDS = (
    "v2_exact_tokens_for_tokens", "v2_tokens_for_exact_tokens", "v2_exact_eth_for_tokens", "v2_eth_for_exact_tokens",
    "v2_exact_tokens_for_eth", "v2_tokens_for_exact_eth", "v3_exact_input_single", "v3_exact_input_multihop",
    "v3_multicall_eth_in",
)
ETH_KINDS = frozenset({"v2_exact_eth_for_tokens", "v2_eth_for_exact_tokens", "v2_exact_tokens_for_eth",
                       "v2_tokens_for_exact_eth"})
TX_TYPE_WEIGHTS = ((2, 0.85), (0, 0.10), (1, 0.05))
GAS_LIMIT = {"v2": 300_000, "v3_exact_input_single": 350_000, "v3_exact_input_multihop": 550_000,
             "v3_multicall_eth_in": 400_000}


@attrs.frozen
class TrafficOptions:
    rate_per_s: float = 2.0
    seed: int = 1
    median_usd: float = 2000.0
    sigma: float = 1.0
    max_usd: float = 60000.0
    count: int | None = None  # stop after this many trades (None: no limit)
    duration_s: float | None = None  # stop after this long (None: until cancelled)

    @classmethod
    def from_settings(cls, settings: DevnetSettings, *, rate_per_s: float | None = None, seed: int | None = None,
                      count: int | None = None, duration_s: float | None = None) -> TrafficOptions:
        return cls(rate_per_s=rate_per_s if rate_per_s is not None else settings.traffic_rate_per_s,
                   seed=seed if seed is not None else settings.traffic_seed, median_usd=settings.traffic_median_usd,
                   sigma=settings.traffic_sigma, max_usd=settings.traffic_max_usd, count=count, duration_s=duration_s)


@attrs.frozen
class Trade:
    """One planned swap; ``path`` in token symbols, ``fees`` per V3 hop, ``usd`` its size."""

    trader: int  # dev account index
    kind: str
    dex: str
    path: tuple[str, ...]
    fees: tuple[int, ...]
    usd: float
    tx_type: int = 2  # EIP-2718 envelope: mostly 1559, some legacy and 2930 as on Arbitrum One


@attrs.frozen
class TrafficStats:
    sent: int = 0
    succeeded: int = 0
    reverted: int = 0
    send_failed: int = 0
    by_kind: dict[str, int] = attrs.field(factory=dict)  # succeeded trades per kind


class TradePlanner:
    """An endless, seed-determined sequence of trades over the manifest's pools."""

    def __init__(self, manifest: dict[str, Any], options: TrafficOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        pools = manifest["pools"]
        self.v2_pairs = {dex: sorted(tuple(p["symbols"]) for p in pools if p["dex"] == dex)
                         for dex in ("uniswap_v2", "sushiswap")}
        self.v3_pools = sorted((tuple(p["symbols"]), p["fee"]) for p in pools if p["dex"] == "uniswap_v3")
        if not all(self.v2_pairs.values()) or not self.v3_pools:
            raise ManifestError("the devnet manifest lacks V2, SushiSwap or V3 pools for the noise traders")
        self._cycle: list[str] = []

    def _size_usd(self) -> float:
        return min(self.options.max_usd, self.options.median_usd * math.exp(self.options.sigma * self.rng.gauss(0, 1)))

    def _oriented(self, pair: tuple[str, str]) -> tuple[str, str]:
        return pair if self.rng.random() < 0.5 else (pair[1], pair[0])

    def next_trade(self) -> Trade:
        trade = self._next_swap()
        tx_type = self.rng.choices([t for t, _ in TX_TYPE_WEIGHTS], [w for _, w in TX_TYPE_WEIGHTS])[0]
        return attrs.evolve(trade, tx_type=tx_type)

    def _next_swap(self) -> Trade:
        if not self._cycle:  # every kind once per cycle, in a shuffled order
            self._cycle = list(KINDS)
            self.rng.shuffle(self._cycle)
        kind = self._cycle.pop()
        trader = self.rng.choice(accounts.TRADER_INDICES)
        usd = self._size_usd()
        if kind.startswith("v2_"):
            dex = self.rng.choice(("uniswap_v2", "sushiswap"))
            pairs = self.v2_pairs[dex]
            if kind in ETH_KINDS:
                pair = self.rng.choice([p for p in pairs if "WETH" in p])
                other = pair[0] if pair[1] == "WETH" else pair[1]
                eth_in = kind in ("v2_exact_eth_for_tokens", "v2_eth_for_exact_tokens")
                path = ("WETH", other) if eth_in else (other, "WETH")
            else:
                path = self._oriented(self.rng.choice(pairs))
            return Trade(trader, kind, dex, path, (), usd)
        if kind == "v3_exact_input_single":
            symbols, fee = self.rng.choice(self.v3_pools)
            return Trade(trader, kind, "uniswap_v3", self._oriented(symbols), (fee,), usd)
        weth_pools = [(s, f) for s, f in self.v3_pools if "WETH" in s]
        if kind == "v3_multicall_eth_in":
            symbols, fee = self.rng.choice(weth_pools)
            other = symbols[0] if symbols[1] == "WETH" else symbols[1]
            return Trade(trader, kind, "uniswap_v3", ("WETH", other), (fee,), usd)
        # multi-hop through WETH between two different tokens, each hop at a random fee tier
        fees_by_token: dict[str, list[int]] = {}
        for symbols, fee in weth_pools:
            fees_by_token.setdefault(symbols[0] if symbols[1] == "WETH" else symbols[1], []).append(fee)
        a, b = self.rng.sample(sorted(fees_by_token), 2)
        fees = (self.rng.choice(fees_by_token[a]), self.rng.choice(fees_by_token[b]))
        return Trade(trader, kind, "uniswap_v3", (a, "WETH", b), fees, usd)


def _raw(manifest: dict[str, Any], symbol: str, usd: float) -> int:
    token = next(t for t in manifest["tokens"] if t["symbol"] == symbol)
    return max(1, int(usd / market.token_spec(symbol).usd_price * 10 ** token["decimals"]))


def _v3_path(addresses: list[str], fees: tuple[int, ...]) -> bytes:
    out = bytes.fromhex(addresses[0][2:])
    for fee, address in zip(fees, addresses[1:]):
        out += fee.to_bytes(3, "big") + bytes.fromhex(address[2:])
    return out


def encode_trade(manifest: dict[str, Any], trade: Trade, recipient: str) -> tuple[str, bytes, int, int]:
    """``(to, calldata, value_wei, gas_limit)`` of a planned trade (pure)."""
    address = {t["symbol"]: t["address"] for t in manifest["tokens"]}
    path = [address[s] for s in trade.path]
    amount_in = _raw(manifest, trade.path[0], trade.usd)
    amount_out = _raw(manifest, trade.path[-1], trade.usd)
    max_in = amount_in * 2  # generous slippage bound: noise traders do not care about price
    if trade.kind.startswith("v2_"):
        router = manifest["contracts"][trade.dex]["router"]
        gas = GAS_LIMIT["v2"]
        calls = {
            "v2_exact_tokens_for_tokens": ("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                                           (amount_in, 0, path, recipient, DEADLINE), 0),
            "v2_tokens_for_exact_tokens": ("swapTokensForExactTokens(uint256,uint256,address[],address,uint256)",
                                           (amount_out, max_in, path, recipient, DEADLINE), 0),
            "v2_exact_eth_for_tokens": ("swapExactETHForTokens(uint256,address[],address,uint256)",
                                        (0, path, recipient, DEADLINE), amount_in),
            "v2_eth_for_exact_tokens": ("swapETHForExactTokens(uint256,address[],address,uint256)",
                                        (amount_out, path, recipient, DEADLINE), max_in),
            "v2_exact_tokens_for_eth": ("swapExactTokensForETH(uint256,uint256,address[],address,uint256)",
                                        (amount_in, 0, path, recipient, DEADLINE), 0),
            "v2_tokens_for_exact_eth": ("swapTokensForExactETH(uint256,uint256,address[],address,uint256)",
                                        (amount_out, max_in, path, recipient, DEADLINE), 0),
        }
        signature, args, value = calls[trade.kind]
        return router, encode_call(signature, *args), value, gas
    router = manifest["contracts"]["uniswap_v3"]["swap_router"]
    single = "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))"
    if trade.kind == "v3_exact_input_single":
        data = encode_call(single, (path[0], path[1], trade.fees[0], recipient, DEADLINE, amount_in, 0, 0))
        return router, data, 0, GAS_LIMIT[trade.kind]
    if trade.kind == "v3_exact_input_multihop":
        data = encode_call("exactInput((bytes,address,uint256,uint256,uint256))",
                           (_v3_path(path, trade.fees), recipient, DEADLINE, amount_in, 0))
        return router, data, 0, GAS_LIMIT[trade.kind]
    swap = encode_call(single, (path[0], path[1], trade.fees[0], recipient, DEADLINE, amount_in, 0, 0))
    data = encode_call("multicall(bytes[])", [swap, encode_call("refundETH()")])
    return router, data, amount_in, GAS_LIMIT["v3_multicall_eth_in"]


async def _watch_receipt(rpc: ChainRpc, tx_hash: str, trade: Trade, counts: Counter[str]) -> None:
    with trio.move_on_after(60):
        while True:
            try:
                receipt = await rpc.call("eth_getTransactionReceipt", tx_hash)
            except ChainRpcError as exc:
                log.warning("noise trader: receipt of %s unavailable: %s", tx_hash, exc)
                receipt = None
            if receipt is not None:
                if int(receipt["status"], 16) == 1:
                    counts["succeeded"] += 1
                    counts[f"kind:{trade.kind}"] += 1
                else:
                    counts["reverted"] += 1
                    log.info("noise trade reverted: %s %s %s (tx %s)", trade.kind, trade.dex, "/".join(trade.path), tx_hash)
                return
            await trio.sleep(0.05)  # polling the node for the receipt, bounded by the deadline above


async def _pending_nonce(rpc: ChainRpc, address: str, held: int) -> int:
    """The account's next nonce from the node after a refused send; the one ``held`` if the node
    does not answer either (it may be down or stopping): the next refused send asks again."""
    try:
        return int(await rpc.call("eth_getTransactionCount", address, "pending"), 16)
    except ChainRpcError as exc:
        log.warning("noise trader: nonce of %s unreadable, keeping %d: %s", address, held, exc)
        return held


async def run_traffic(manifest: dict[str, Any], options: TrafficOptions, *,
                      task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> TrafficStats:
    """Send noise trades until ``options.count``/``duration_s`` is reached or cancelled.

    Returns once every sent trade has a receipt (or 60 s passed for it). The demo runs this in
    its nursery; cancelling it stops sending at once.
    """
    planner = TradePlanner(manifest, options)
    timing = random.Random(options.seed ^ 0x5EED)  # separate stream: timing never changes the plan
    counts: Counter[str] = Counter()
    chain_id = int(manifest["chain_id"])
    async with ChainRpc(manifest["rpc_url"]) as rpc:
        nonces = {i: int(await rpc.call("eth_getTransactionCount", accounts.dev_account(i).address, "pending"), 16)
                  for i in accounts.TRADER_INDICES}
        task_status.started()
        async with trio.open_nursery() as watchers:  # waits for the receipts of what was sent
            with trio.move_on_after(options.duration_s if options.duration_s is not None else math.inf):
                while options.count is None or counts["sent"] + counts["send_failed"] < options.count:
                    trade = planner.next_trade()
                    account = accounts.dev_account(trade.trader)
                    to, data, value, gas = encode_trade(manifest, trade, account.address)
                    raw = sign_typed(account, trade.tx_type, chain_id=chain_id, nonce=nonces[trade.trader], to=to,
                                     data=data, value=value, gas=gas,
                                     priority_fee_per_gas=timing.randrange(10**6, 10**8))
                    try:
                        tx_hash = await rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
                    except ChainRpcError as exc:
                        counts["send_failed"] += 1
                        log.warning("noise trade not accepted: %s %s: %s", trade.kind, trade.dex, exc)
                        nonces[trade.trader] = await _pending_nonce(rpc, account.address, nonces[trade.trader])
                    else:
                        nonces[trade.trader] += 1
                        counts["sent"] += 1
                        watchers.start_soon(_watch_receipt, rpc, tx_hash, trade, counts)
                    await trio.sleep(timing.expovariate(options.rate_per_s))
    return TrafficStats(sent=counts["sent"], succeeded=counts["succeeded"], reverted=counts["reverted"],
                        send_failed=counts["send_failed"],
                        by_kind={k.removeprefix("kind:"): v for k, v in counts.items() if k.startswith("kind:")})
