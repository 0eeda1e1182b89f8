"""What the parser publishes: ``market.swap.intent`` and ``market.pool.update``.

Plain frozen attrs classes with no bus imports; the bus registers them with its codec.
Addresses and hashes are lowercase 0x-hex strings, amounts are Python ints (wei / raw token
units), so every class round-trips through the one cattrs converter without hooks.

Granularity of :class:`SwapIntent`: **one intent per swap action** — one router call, one
multicall entry, or one Universal Router command — carrying its hops in token-flow order
(``token_in`` first). A tx that multicalls two swaps yields two intents, in execution order
(``action_index``). A consumer applies an intent hop by hop: hop 0 receives the intent's
input amount, every later hop receives what the previous hop put out ("amount flows from
previous hop"). For exact-output swaps the amount is fixed at the end instead
(``amount_out``) and a simulator works backwards from the last hop.
"""

from __future__ import annotations

import enum

import attrs

TOPIC_SWAP_INTENT = "market.swap.intent"
TOPIC_POOL_UPDATE = "market.pool.update"


class RouterKind(str, enum.Enum):
    V2_ROUTER02 = "v2_router02"  # Uniswap V2 Router02 and its forks (SushiSwap)
    V3_SWAP_ROUTER = "v3_swap_router"  # Uniswap V3 SwapRouter (deadline inside the params)
    V3_SWAP_ROUTER02 = "v3_swap_router02"  # SwapRouter02 (V2 + V3, no deadline in params)
    UNIVERSAL_ROUTER = "universal_router"


class PoolKind(str, enum.Enum):
    V2 = "v2"
    V3 = "v3"


@attrs.frozen
class FeedPosition:
    """Where the transaction sat in the sequencer feed: message sequence and tx index in it."""

    seq: int
    tx_index: int


@attrs.frozen
class SwapHop:
    """One pool crossed by a swap, in token-flow order.

    ``pool`` is the registry's pool when ``known``; when the registry does not know the pool,
    ``known`` is False and ``pool`` is its CREATE2 address (the pool the router would call,
    which may not even be deployed) or None when the DEX's init code hash is unknown.
    """

    kind: PoolKind
    dex: str
    token_in: str
    token_out: str
    fee_pips: int | None  # V3 fee tier; None for V2 (the pair's fee lives in the registry)
    pool: str | None
    known: bool


@attrs.frozen
class SwapIntent:
    """A swap announced by a pending transaction's calldata, before any receipt exists.

    Amounts the calldata does not fix are None: ``amount_in`` is None when the router spends
    whatever balance the previous action of the same tx left it (``amount_in_from_previous``;
    Universal Router ``CONTRACT_BALANCE``, SwapRouter02 ``amountIn == 0``).
    """

    dex: str
    router_kind: RouterKind
    router: str
    method: str  # function name, or Universal Router command name
    hops: tuple[SwapHop, ...]
    token_in: str
    token_out: str
    exact_input: bool
    amount_in: int | None  # exact input: the amount sold
    amount_out_min: int | None  # exact input: the slippage floor
    amount_out: int | None  # exact output: the amount bought
    amount_in_max: int | None  # exact output: the slippage ceiling
    recipient: str
    deadline: int | None
    tx_hash: str
    position: FeedPosition
    action_index: int = 0  # order of this swap among the tx's swaps
    amount_in_from_previous: bool = False
    sqrt_price_limit_x96: int | None = None  # V3 single-pool swaps only; 0 means none
    native_in: bool = False  # the user pays ETH that the router wraps
    native_out: bool = False  # the router unwraps WETH to the recipient
    fee_on_transfer: bool = False  # a *SupportingFeeOnTransferTokens variant
    allow_revert: bool = False  # Universal Router command flagged to allow failure

    @property
    def pools(self) -> tuple[str | None, ...]:
        return tuple(hop.pool for hop in self.hops)

    @property
    def path(self) -> tuple[str, ...]:
        return (self.hops[0].token_in, *(hop.token_out for hop in self.hops)) if self.hops else ()

    @property
    def all_pools_known(self) -> bool:
        return all(hop.known for hop in self.hops)


class PoolUpdateKind(str, enum.Enum):
    V2_SYNC = "v2_sync"
    V2_SWAP = "v2_swap"
    V3_SWAP = "v3_swap"
    V3_MINT = "v3_mint"
    V3_BURN = "v3_burn"
    V3_INITIALIZE = "v3_initialize"
    PAIR_CREATED = "pair_created"
    POOL_CREATED = "pool_created"


@attrs.frozen
class PoolUpdate:
    """A pool event from a log. Fields an event does not carry are None.

    ``amount0`` / ``amount1`` are the pool's net token deltas, signed from the pool's point of
    view (positive: the pool received), for V2 and V3 swaps alike; for mint/burn they are the
    (unsigned) token amounts of the position change. For ``pair_created`` / ``pool_created``
    ``pool`` is the new pool and ``factory`` the emitter.
    """

    kind: PoolUpdateKind
    pool: str
    block_number: int | None
    log_index: int | None
    tx_hash: str | None
    removed: bool = False  # the log was removed by a reorg
    reserve0: int | None = None
    reserve1: int | None = None
    sqrt_price_x96: int | None = None
    liquidity: int | None = None  # V3 swap: in-range liquidity after the swap
    tick: int | None = None
    amount0: int | None = None
    amount1: int | None = None
    liquidity_delta: int | None = None  # V3 mint (+) / burn (-) position liquidity
    tick_lower: int | None = None
    tick_upper: int | None = None
    token0: str | None = None
    token1: str | None = None
    fee_pips: int | None = None
    tick_spacing: int | None = None
    factory: str | None = None
