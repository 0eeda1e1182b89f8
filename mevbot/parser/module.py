"""The parser module: feed transactions in, swap intents out; pool logs in, pool updates out.

Both streams keep their order: intents leave in feed order (sequence number, then transaction
index, then action index), updates in block and log-index order. Bad calldata or logs are
counted by the decoders and never stop the module.
"""

from __future__ import annotations

import trio

from mevbot.parser.messages import TOPIC_POOL_UPDATE, TOPIC_SWAP_INTENT
from mevbot.runtime.module import Module, ModuleContext


class ParserModule(Module):
    name = "parser"
    section = "parser"
    depends_on = ("monitor",)

    def __init__(self) -> None:
        self.calldata = None
        self.logs = None
        self.intents_published = 0
        self.updates_published = 0

    def build(self, ctx: ModuleContext) -> None:
        """The decoders for the deployment of ``ctx.full_config`` (also used by `mevbot replay`)."""
        from mevbot.parser.calldata import parser_from_manifest
        from mevbot.parser.logs import LogParser
        from mevbot.runtime.deployment import load_manifest, load_registry

        registry = load_registry(ctx.full_config)
        self.calldata = parser_from_manifest(load_manifest(ctx.full_config), registry)
        self.logs = LogParser(registry)

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from mevbot.feed.module import TOPIC_POOL_LOGS

        self.build(ctx)
        bus = ctx.bus
        # feed.block and feed.reorg on one subscription: a reorg must pass the new block's intents
        # neither here nor on the pipeline's market.# subscription
        with bus.subscribe("feed.*", name="parser.blocks") as blocks, \
                bus.subscribe(TOPIC_POOL_LOGS, name="parser.logs") as logs:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._intents, ctx, blocks)
                nursery.start_soon(self._updates, ctx, logs)
                ctx.health.ok("decoding feed transactions and pool logs")
                task_status.started()

    async def _intents(self, ctx: ModuleContext, sub) -> None:
        from mevbot.feed.reorg import TOPIC_FEED_REORG

        async for env in sub:
            await ctx.gate.wait_open()
            if env.topic == TOPIC_FEED_REORG:
                await self.on_reorg(ctx, env.payload, env.trace_id)
            else:
                await self.on_block(ctx, env.payload, env.trace_id)

    async def on_reorg(self, ctx: ModuleContext, reorg, trace_id: int) -> None:
        """Pass a feed reorg on to the pipeline, in order with the intents published around it."""
        from mevbot.feed.reorg import TOPIC_MARKET_REORG

        await ctx.bus.publish(TOPIC_MARKET_REORG, reorg, source=self.name, trace_id=trace_id)

    async def on_block(self, ctx: ModuleContext, block, trace_id: int) -> None:
        """Publish the swap intents of one feed block, in transaction and action order."""
        for tx in block.transactions:
            for intent in self.calldata.parse_feed_transaction(tx, seq=block.sequence_number):
                await ctx.bus.publish(TOPIC_SWAP_INTENT, intent, source=self.name, trace_id=trace_id)
                self.intents_published += 1

    async def _updates(self, ctx: ModuleContext, sub) -> None:
        async for env in sub:
            await ctx.gate.wait_open()
            await self.on_logs(ctx, env.payload, env.trace_id)

    async def on_logs(self, ctx: ModuleContext, block_logs, trace_id: int) -> None:
        """Publish the pool updates of one block's watched logs, in log-index order (one
        ``publish_many`` for the block: they are all known at once)."""
        updates = self.logs.parse_many(block_logs.logs)
        if updates:
            await ctx.bus.publish_many(TOPIC_POOL_UPDATE, updates, source=self.name, trace_id=trace_id)
            self.updates_published += len(updates)
