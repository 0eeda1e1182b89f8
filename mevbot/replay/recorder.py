"""`mevbot record`: a live session into a recording file (see recording.py for the format).

Order matters for a recording that replays without gaps or double counting:

1. read the chain's block number B and every registry pool's state at B (the pipeline's own
   fetcher, batched ``eth_call`` pinned to B), B's base fee and timestamp;
2. write the header and the pools;
3. follow the feed with the bot's :class:`~mevbot.feed.client.FeedClient`, asking to resume at
   B's sequence number, so the feed sends from there (Nitro resends the asked-for message
   itself, which replay drops as already in the state); every raw frame is written, with its
   receive time, before the client decodes it, reconnects and resumes included;
   alongside, the monitor's :class:`~mevbot.rpc.blocks.BlockMonitor` from block B + 1: every
   head and the logs of the manifest's pools, as the monitor would publish them;
4. after ``duration_s`` (or on Ctrl-C) write the end record.

The trading key is never loaded: ``sender`` is an address, used only for its pending nonce.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import attrs
import trio

from mevbot.replay.errors import RecordError
from mevbot.replay.recording import RecordingHeader, RecordingWriter

log = logging.getLogger("mevbot.replay.record")


@attrs.frozen
class RecordSummary:
    path: str
    block_number: int
    pools: int
    frames: int
    blocks: int
    transactions: int
    heads: int = 0
    log_batches: int = 0


async def record_session(config: Any, path: str | Path, *, duration_s: float | None, sender: str | None = None,
                         stop: trio.Event | None = None, clock_ns=time.time_ns,
                         task_status=trio.TASK_STATUS_IGNORED) -> RecordSummary:
    """Record until ``duration_s`` has passed or ``stop`` is set (neither: until cancelled; the end
    record is written in every case). Started means frames are being recorded."""
    from mevbot.feed.client import FeedClient
    from mevbot.pools.errors import PoolFetchError
    from mevbot.pools.fetch import fetch_snapshot
    from mevbot.rpc.blocks import BlockMonitor
    from mevbot.rpc.client import RpcClient
    from mevbot.rpc.errors import RpcError
    from mevbot.runtime.deployment import load_manifest, load_registry

    try:
        manifest = load_manifest(config)
        registry = load_registry(config)
    except Exception as exc:  # a missing or malformed manifest: say which file
        raise RecordError(f"cannot load the deployment manifest {config.parser.manifest}: {exc}") from exc
    genesis = int((manifest.get("feed") or {}).get("sequence_number_offset", 0))
    urls = list(dict.fromkeys(config.monitor.feed_urls))
    words = config.pipeline.v3_words_around
    pools = [p["address"] for p in manifest.get("pools", [])]  # what the monitor watches
    counts = {"blocks": 0, "transactions": 0, "heads": 0, "logs": 0}
    async with RpcClient.from_settings(config.rpc) as rpc:
        try:
            chain_id = await rpc.chain_id()
            block = await rpc.block_number()
            head = await rpc.get_block(block)
            snapshots = [await fetch_snapshot(rpc, info, block, words_around=words) for info in registry.pools()]
            nonce = await rpc.get_transaction_count(sender, "pending") if sender else 0
        except (RpcError, PoolFetchError, OSError) as exc:
            raise RecordError(f"cannot read the start state from {config.rpc.http_urls}: {exc}") from exc
        if head is None:
            raise RecordError(f"block {block} is not available from {config.rpc.http_urls}")
        header = RecordingHeader(
            chain_id=chain_id, block_number=block, sequence_number=block - genesis, genesis_block=genesis,
            base_fee_wei=int(head.get("baseFeePerGas", "0x0"), 16), block_timestamp=int(head["timestamp"], 16),
            feed_urls=tuple(urls), started_at_ns=clock_ns(), manifest=manifest, v3_words_around=words,
            sender=sender.lower() if sender else None, sender_nonce=nonce)
        path = Path(path)
        feed_index = {url: i for i, url in enumerate(urls)}
        try:
            out = open(path, "w", encoding="utf-8")
        except OSError as exc:
            raise RecordError(f"cannot write the recording {path}: {exc.strerror}") from exc
        with out:
            writer = RecordingWriter(out)
            writer.header(header)
            for snap in snapshots:
                writer.pool(snap.address.lower(), snap.state)
            out.flush()

            def on_frame(url: str, frame: str | bytes) -> None:
                writer.frame(feed_index[url], frame, clock_ns())

            async def on_block(feed_block) -> None:
                counts["blocks"] += 1
                counts["transactions"] += len(feed_block.transactions)

            async def on_head(block_head) -> None:
                counts["heads"] += 1
                writer.head(block_head, clock_ns())

            async def on_logs(block_logs) -> None:
                counts["logs"] += 1
                writer.logs(block_logs, clock_ns())

            client = FeedClient(urls, on_block=on_block, on_frame=on_frame, genesis_block=genesis,
                                start_sequence=header.sequence_number, log=log)
            blocks = BlockMonitor.from_settings(rpc, config.rpc, pool_addresses=lambda: pools, on_head=on_head,
                                                on_logs=on_logs, start_block=block + 1)
            try:
                with trio.move_on_after(duration_s if duration_s is not None else float("inf")):
                    async with trio.open_nursery() as nursery:
                        await nursery.start(client.run)
                        await nursery.start(blocks.run)
                        task_status.started()
                        await (stop.wait() if stop is not None else trio.sleep_forever())
                        nursery.cancel_scope.cancel()
            finally:
                writer.close(clock_ns())
    log.info("recorded %d frames (%d blocks, %d transactions), %d heads and %d log batches from block %d into %s",
             writer.frames, counts["blocks"], counts["transactions"], counts["heads"], counts["logs"], block, path)
    return RecordSummary(str(path), block, len(snapshots), writer.frames, counts["blocks"], counts["transactions"],
                         counts["heads"], counts["logs"])
