"""Every message type the bot's modules exchange, registered with the bus in one place.

Domain packages define plain attrs classes and never import the bus; this module gives each a
stable type tag and schema version. Bump the version (and add an ``upgrade`` hook) when a
class changes shape, so a newer process can still read an older peer's or journal's messages.
"""

from __future__ import annotations

from mevbot.bus.registry import MESSAGES


def register_all() -> None:
    """Register the catalog (idempotent)."""
    from mevbot.execution.engine import ExecutionRequest, ExecutionResult
    from mevbot.feed.blocks import FeedBlock, pack_feed_block, unpack_feed_block
    from mevbot.feed.reorg import FeedReorg
    from mevbot.parser.messages import PoolUpdate, SwapIntent
    from mevbot.pools.messages import PoolStateChange
    from mevbot.risk.breakers import BreakerTrip
    from mevbot.risk.rules import RiskDecision
    from mevbot.rpc.chaindata import BlockHead, BlockLogs
    from mevbot.scanner.opportunity import ArbitrageOpportunity

    catalog = [
        (FeedBlock, "feed.block", 1, {"pack": pack_feed_block, "unpack": unpack_feed_block}),
        (FeedReorg, "feed.reorg", 1, {}),
        (BlockHead, "chain.head", 1, {}),
        (BlockLogs, "market.pool.logs", 1, {}),
        (SwapIntent, "market.swap.intent", 1, {}),
        (PoolUpdate, "market.pool.update", 1, {}),
        (PoolStateChange, "pools.state", 1, {}),
        (ArbitrageOpportunity, "arb.opportunity", 1, {}),
        (RiskDecision, "risk.decision", 1, {}),
        (BreakerTrip, "risk.breaker", 1, {}),
        (ExecutionRequest, "exec.request", 1, {}),
        (ExecutionResult, "exec.result", 1, {}),
    ]
    for cls, tag, version, layout in catalog:
        MESSAGES.register(cls, tag, version, **layout)
