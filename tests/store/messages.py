"""Real message instances of every stored topic, as the producing packages define them."""

from __future__ import annotations

from eth_account import Account

from mevbot.bus.registry import MessageRegistry
from mevbot.execution.engine import ExecutionRequest, ExecutionResult
from mevbot.feed.blocks import FeedBlock
from mevbot.feed.transactions import FeedTransaction
from mevbot.pools.messages import PoolStateChange, PoolStateEntry
from mevbot.pricing.v2 import V2PoolState
from mevbot.parser.messages import (FeedPosition, PoolKind, PoolUpdate, PoolUpdateKind, RouterKind,
                                    SwapHop, SwapIntent)
from mevbot.risk.breakers import BreakerTrip
from mevbot.risk.rules import RiskDecision
from mevbot.scanner.opportunity import ArbitrageOpportunity, RouteHop

WETH = "0x82af49447d8a07e3bd95bd0d56f35241523fbab1"
USDC = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"
POOL_A = "0x" + "aa" * 20
POOL_B = "0x" + "bb" * 20
BIG = 123_456_789_012_345_678_901_234_567_890  # wei amounts do not fit SQLite's INTEGER

#: A throwaway key made for this test run: the store must never hold it.
SIGNER = Account.create()


def signed_tx() -> bytes:
    tx = {"chainId": 42161, "nonce": 7, "to": "0x82aF49447D8a07e3bd95BD0d56f35241523fBab1", "value": 1, "gas": 21000,
          "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1, "data": b"\x12\x34"}
    return bytes(Account.sign_transaction(tx, SIGNER.key).raw_transaction)


def feed_block(seq: int = 100) -> FeedBlock:
    return FeedBlock(sequence_number=seq, block_number=seq, timestamp=1_764_000_000, block_hash=b"\x11" * 32,
                     l1_block_number=5, delayed_messages_read=1, l1_kind=3,
                     transactions=(FeedTransaction(signed_tx(), 0),))


def swap_intent(amount_in: int = BIG) -> SwapIntent:
    hop = SwapHop(PoolKind.V3, "uniswap_v3", WETH, USDC, 500, POOL_A, True)
    return SwapIntent(dex="uniswap_v3", router_kind=RouterKind.V3_SWAP_ROUTER02, router="0x" + "68" * 20,
                      method="exactInputSingle", hops=(hop,), token_in=WETH, token_out=USDC, exact_input=True,
                      amount_in=amount_in, amount_out_min=1, amount_out=None, amount_in_max=None,
                      recipient="0x" + "01" * 20, deadline=None, tx_hash="0x" + "cd" * 32,
                      position=FeedPosition(seq=100, tx_index=0))


def pool_state() -> PoolUpdate:
    return PoolUpdate(kind=PoolUpdateKind.V3_SWAP, pool=POOL_A, block_number=100, log_index=2,
                      tx_hash="0x" + "cd" * 32, sqrt_price_x96=2**96 * 3000, liquidity=BIG, tick=80000,
                      amount0=-5, amount1=7)


def pool_created() -> PoolUpdate:
    return PoolUpdate(kind=PoolUpdateKind.POOL_CREATED, pool=POOL_B, block_number=1, log_index=0,
                      tx_hash=None, token0=WETH, token1=USDC, fee_pips=500, tick_spacing=10,
                      factory="0x" + "1f" * 20)


def opportunity(cycle: str = "c1") -> ArbitrageOpportunity:
    hop = RouteHop(POOL_A, "uniswap_v3", "v3", WETH, USDC, 500, BIG, 10**9)
    return ArbitrageOpportunity(cycle_key=cycle, start_token=WETH, route=(hop,), amount_in=BIG,
                                amount_out=BIG + 10, gross_profit=10, gas_units=300_000, gas_price_wei=10**7,
                                l2_cost_wei=1, l1_cost_wei=2, cost_in_start_token=3, net_profit=7,
                                net_profit_wei=7, block_number=100, seq=100, tx_index=0,
                                trigger_tx="0x" + "cd" * 32, evaluations=12)


def decision() -> RiskDecision:
    return RiskDecision("c1", False, "max_trade", "trade above max_trade", 100, 0, 1_764_000_001.5)


def exec_request() -> ExecutionRequest:
    return ExecutionRequest("r1", opportunity())


def exec_result() -> ExecutionResult:
    return ExecutionResult(request_id="r1", cycle_key="c1", status="succeeded", reason="", expected_profit=10,
                           realised_profit=BIG, tx_hash="0x" + "ef" * 32, gas_used=250_000,
                           gas_cost_wei=BIG, block_number=101)


def state_change() -> PoolStateChange:
    return PoolStateChange((PoolStateEntry.of(POOL_A, V2PoolState(BIG, 10**18)),), block_number=101, seq=100,
                           tx_index=0, trigger_tx="0x" + "cd" * 32, cause="intent")


#: (topic, message, table it lands in)
EVERY_TOPIC = [
    ("feed.block", feed_block(), "feed_messages"),
    ("market.swap.intent", swap_intent(), "swaps"),
    ("market.pool.update", pool_state(), "pool_states"),
    ("arb.opportunity", opportunity(), "opportunities"),
    ("risk.decision", decision(), "risk_decisions"),
    ("exec.request", exec_request(), "executions"),
    ("exec.result", exec_result(), "execution_results"),
    ("risk.breaker", BreakerTrip("3 consecutive failures", 1_764_000_002.0, None), "breaker_trips"),
    ("pools.state", state_change(), "state_changes"),
]


def message_registry() -> MessageRegistry:
    """The stored message classes registered under their topics' tags (the bus catalog is not
    written yet, and the process-wide registry is another engineer's)."""
    registry = MessageRegistry()
    for topic, message, _ in EVERY_TOPIC:
        registry.register(type(message), topic)
    return registry
