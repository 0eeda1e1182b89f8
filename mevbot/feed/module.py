"""The market monitor: the Nitro feed and the chain's heads and pool logs, onto the bus.

Publishes ``feed.block`` (one per sequencer message, in sequence order, before any receipt),
``chain.head`` (every block, none skipped) and ``market.pool.logs`` (the logs of watched pools,
per block). A sequence gap the feed client detects is backfilled from RPC blocks before the
block that revealed it is published, so downstream sees every sequence number once, in order.

With ``[monitor] replay = "PATH"`` it publishes a recording instead, one event at a time, each
once the whole deployment has settled (mevbot/replay/source.py).
"""

from __future__ import annotations

import trio

from mevbot.feed.blocks import FeedBlock
from mevbot.feed.reorg import TOPIC_FEED_REORG, FeedReorg
from mevbot.feed.transactions import FeedTransaction
from mevbot.runtime.module import Module, ModuleContext

TOPIC_FEED_BLOCK = "feed.block"
TOPIC_CHAIN_HEAD = "chain.head"
TOPIC_POOL_LOGS = "market.pool.logs"


async def backfill_block(rpc, seq: int, genesis_block: int) -> FeedBlock | None:
    """Rebuild the feed block of ``seq`` from the chain (the block's raw signed transactions)."""
    number = genesis_block + seq
    block = await rpc.get_block(number, full_txs=False)
    if block is None:
        return None
    hashes = block.get("transactions") or []
    raws = await rpc.batch([("eth_getRawTransactionByHash", [h]) for h in hashes]) if hashes else []
    txs = []
    for index, raw in enumerate(raws):
        if isinstance(raw, str) and raw.startswith("0x"):
            try:
                txs.append(FeedTransaction(bytes.fromhex(raw[2:]), index))
            except Exception:
                continue  # a type we do not decode (e.g. Arbitrum-internal): skipped, as in the feed
    return FeedBlock(sequence_number=seq, block_number=number, timestamp=int(block["timestamp"], 16),
                     block_hash=bytes.fromhex(block["hash"][2:]), l1_block_number=0, delayed_messages_read=0,
                     l1_kind=3, transactions=tuple(txs), problems=("backfilled from RPC",))


class MonitorModule(Module):
    name = "monitor"
    section = "monitor"

    def __init__(self) -> None:
        self.client = None
        self.blocks = None
        self.replay_began = False  # a replay publishes its recording once per process

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from mevbot.feed.client import FeedClient
        from mevbot.rpc.blocks import BlockMonitor
        from mevbot.rpc.client import RpcClient
        from mevbot.runtime.deployment import feed_genesis_block, load_manifest

        if ctx.config.replay:
            from mevbot.replay.source import run_replay

            if self.replay_began:  # restarted after a crash mid-replay: publishing again would repeat events
                ctx.health.failed("the replay was interrupted by an error (see the log); restart the deployment "
                                  "to replay the recording again")
                task_status.started()
                await trio.sleep_forever()

            def began() -> None:
                self.replay_began = True

            await run_replay(ctx, began=began, task_status=task_status)
            return
        bus, cfg, full = ctx.bus, ctx.config, ctx.full_config
        manifest = load_manifest(full)
        genesis = feed_genesis_block(manifest)
        pools = [p["address"] for p in manifest.get("pools", [])]

        async with RpcClient.from_settings(full.rpc) as rpc:
            async def on_block(block: FeedBlock) -> None:
                await ctx.gate.wait_open()
                await bus.publish(TOPIC_FEED_BLOCK, block, source=self.name, trace_id=block.sequence_number)

            async def on_gap(first: int, last: int) -> None:
                ctx.log.warning("feed gap: sequence numbers %d..%d missing; backfilling from RPC", first, last)
                for seq in range(first, last + 1):
                    block = await backfill_block(rpc, seq, genesis)
                    if block is None:
                        ctx.log.error("backfill: block for sequence %d is not on chain yet", seq)
                        continue
                    await on_block(block)

            async def on_reorg(seq: int, old_hash, new_hash) -> None:
                ctx.log.warning("feed reorg at sequence %d: %s -> %s; speculative state from it on is dropped",
                                seq, old_hash and old_hash.hex(), new_hash and new_hash.hex())
                await bus.publish(TOPIC_FEED_REORG, FeedReorg(seq, old_hash, new_hash), source=self.name,
                                  trace_id=seq)

            async def on_head(head) -> None:
                await bus.publish(TOPIC_CHAIN_HEAD, head, source=self.name)

            async def on_logs(logs) -> None:
                await bus.publish(TOPIC_POOL_LOGS, logs, source=self.name)

            signers = [bytes.fromhex(a.removeprefix("0x")) for a in cfg.verify_signers]
            self.client = FeedClient(cfg.feed_urls, on_block=on_block, on_gap=on_gap, on_reorg=on_reorg,
                                     chain_id=cfg.chain_id, verify_signers=signers, genesis_block=genesis,
                                     log=ctx.log)
            self.blocks = BlockMonitor.from_settings(rpc, full.rpc, pool_addresses=lambda: pools,
                                                     on_head=on_head, on_logs=on_logs)
            async with trio.open_nursery() as nursery:
                await nursery.start(self.client.run)
                await nursery.start(self.blocks.run)
                ctx.health.ok(f"following {len(cfg.feed_urls)} feed(s) and {len(pools)} pools")
                task_status.started()
