"""The pipeline module: the live state of every registered pool.

On start it reads every pool at one block (batched eth_call) and publishes the snapshot. Then
it applies, in order, the pool updates from logs (confirmed state) and the swap intents from the
feed (speculative state, before any receipt), and publishes the new state of the pools each one
changed on ``pools.state``, tagged with the feed position or block that caused it. A pool
marked stale (V3 mint/burn, a removed log) or missing tick data is refetched from RPC.
Replaying a recording (``[monitor] replay``), it starts from the recorded state instead and has
no chain to read (mevbot/replay/source.py).
"""

from __future__ import annotations

import trio

from mevbot.feed.reorg import TOPIC_MARKET_REORG
from mevbot.parser.messages import TOPIC_POOL_UPDATE, TOPIC_SWAP_INTENT, PoolUpdate, SwapIntent
from mevbot.pools.messages import TOPIC_POOL_STATE, PoolStateChange, PoolStateEntry
from mevbot.pools.state import PoolStateBook
from mevbot.runtime.module import Module, ModuleContext


class PipelineModule(Module):
    name = "pipeline"
    section = "pipeline"
    depends_on = ("parser",)

    def __init__(self) -> None:
        self.book = PoolStateBook()
        self.registry = None
        self.block_number = 0

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from mevbot.pools.fetch import fetch_snapshot
        from mevbot.replay.source import recorded_start
        from mevbot.rpc.client import RpcClient
        from mevbot.runtime.deployment import feed_genesis_block, load_manifest, load_registry

        self.registry = load_registry(ctx.full_config)
        self.book.genesis_block = feed_genesis_block(load_manifest(ctx.full_config))
        bus = ctx.bus
        async with RpcClient.from_settings(ctx.full_config.rpc) as rpc:
            self.rpc = rpc
            with bus.subscribe("market.#", name="pipeline") as sub:
                recorded = recorded_start(ctx.full_config)  # [monitor] replay: the recording's state
                if recorded is not None:
                    self.rpc, block = recorded.chain, recorded.block_number
                    for snap in recorded.snapshots:
                        self.book.set_snapshot(snap)
                else:
                    block = await rpc.block_number()
                    for info in self.registry.pools():
                        snap = await fetch_snapshot(rpc, info, block, words_around=ctx.config.v3_words_around)
                        self.book.set_snapshot(snap)
                self.block_number = block
                await self._publish(ctx, self.book.pools(), cause="snapshot")
                ctx.health.ok(f"tracking {len(self.book.pools())} pools from block {block}")
                task_status.started()
                async for env in sub:
                    await ctx.gate.wait_open()
                    payload = env.payload
                    if env.topic == TOPIC_POOL_UPDATE:
                        await self._on_update(ctx, payload, env.trace_id)
                    elif env.topic == TOPIC_SWAP_INTENT:
                        await self._on_intent(ctx, payload, env.trace_id)
                    elif env.topic == TOPIC_MARKET_REORG:
                        await self._on_reorg(ctx, payload, env.trace_id)

    async def _on_update(self, ctx: ModuleContext, update: PoolUpdate, trace_id: int) -> None:
        if update.block_number is not None:
            if update.block_number > self.block_number:  # logs come in block order: older blocks are done
                expired = self.book.expire_pending_before(update.block_number)
                if expired:
                    await self._publish(ctx, expired, cause="expired", trace_id=trace_id)
            self.block_number = max(self.block_number, update.block_number)
        changed = self.book.apply_update(update)
        if changed:
            await self._publish(ctx, [update.pool.lower()], cause="update", trace_id=trace_id)
        await self._refetch_stale(ctx)

    async def _on_intent(self, ctx: ModuleContext, intent: SwapIntent, trace_id: int) -> None:
        outcome = self.book.apply_intent(intent)
        if not outcome.applied and self.book.needs_data:
            await self._fill(ctx)
            outcome = self.book.apply_intent(intent)
        if outcome.applied:
            await self._publish(ctx, list(outcome.changed_pools), cause="intent", seq=intent.position.seq,
                                tx_index=intent.position.tx_index, trigger_tx=intent.tx_hash, trace_id=trace_id)

    async def _on_reorg(self, ctx: ModuleContext, reorg, trace_id: int) -> None:
        """The sequencer replaced the block of ``reorg.sequence_number`` (and so every later one):
        forget the speculative state of their intents; the new version's intents follow."""
        changed = self.book.drop_pending_since(reorg.sequence_number)
        ctx.log.warning("feed reorg at sequence %d: dropped the pending intents from it on (%d pools corrected)",
                        reorg.sequence_number, len(changed))
        if changed:
            await self._publish(ctx, changed, cause="reorg", seq=reorg.sequence_number, trace_id=trace_id)

    async def _fill(self, ctx: ModuleContext) -> None:
        from mevbot.pools.fetch import extend_v3_state
        from mevbot.pools.state import PoolSnapshot

        for pool, missing in sorted(self.book.needs_data.items()):
            snap = self.book.confirmed(pool)
            if snap is None:
                continue
            try:
                state = await extend_v3_state(self.rpc, snap.address, snap.state, missing, snap.block_number)
            except Exception as exc:  # a node error must not stop the pipeline
                ctx.log.warning("could not extend %s: %s", pool, exc)
                continue
            self.book.set_snapshot(PoolSnapshot(snap.address, state, snap.block_number, snap.seq))

    async def _refetch_stale(self, ctx: ModuleContext) -> None:
        from mevbot.pools.fetch import fetch_snapshot

        for pool in sorted(self.book.stale):
            info = self.registry.pool(pool)
            if info is None:
                self.book.stale.discard(pool)
                continue
            try:
                snap = await fetch_snapshot(self.rpc, info, self.block_number,
                                            words_around=ctx.config.v3_words_around)
            except Exception as exc:
                ctx.log.warning("refetch of stale pool %s failed: %s", pool, exc)
                continue
            self.book.set_snapshot(snap)
            await self._publish(ctx, [pool], cause="refetch")

    async def _publish(self, ctx: ModuleContext, pools: list[str], *, cause: str, seq: int | None = None,
                       tx_index: int | None = None, trigger_tx: str | None = None, trace_id: int = 0) -> None:
        entries = tuple(PoolStateEntry.of(p, self.book.view(p)) for p in sorted(pools) if self.book.view(p))
        if not entries:
            return
        change = PoolStateChange(entries, self.block_number, seq, tx_index, trigger_tx, cause)
        await ctx.bus.publish(TOPIC_POOL_STATE, change, source=self.name, trace_id=trace_id)
