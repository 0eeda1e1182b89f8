"""`[monitor] replay = "PATH"`: a real deployment (monolithic or placed) runs on a recording.

`mevbot replay` drives the modules' handlers itself on a sequential bus. This is the other way
round: the bot runs unchanged, as `mevbot run` or `mevbot up` would run it live, in one process
or several linked over Unix sockets or TCP, and only its sources are the recording's:

* the monitor module publishes the recording instead of following the feed and the chain:
  ``feed.block`` (the recorded frames through the bot's own :class:`FeedClient`, from the
  recording's start sequence number, duplicates and bad frames dropped as they were live,
  ``feed.reorg`` as the client detects it), ``chain.head`` and ``market.pool.logs``, one event at a
  time, in the order they arrived live;
* the pipeline starts from the recording's pool state at its block (:func:`recorded_start`),
  and its RPC client is a :class:`~mevbot.replay.replayer.RecordedChain`: a read beyond the
  recording (tick data past the recorded words, a stale V3 pool's refetch) fails like an RPC
  error, as in `mevbot replay`;
* before the first event the monitor publishes that start state on ``pools.state`` (cause
  ``snapshot``), so a scanner in another process, which read its pools from ``[rpc]`` at start-up
  as it does live, holds the recorded state too.

Determinism: after every event the monitor waits until the whole deployment has settled
(mevbot/replay/settle.py: every process idle, every link balanced), so each event's cascade of
intents, state changes, opportunities, decisions and results is complete everywhere before the
next is published. One publisher per stage keeps its order over each link, and with every stage
finished before the next event there is no race left between the streams a module consumes
(the parser's blocks and logs, the scanner's states and heads, risk's opportunities and results).

What stays live: the other modules' own reads of ``[rpc]`` (the scanner's start-up read, which
the snapshot replaces, its tick reads and NodeInterface query; execution's dry-run simulation),
the risk manager's clock, and the store. Execution must be in dry run: a recording is never
traded (`mevbot run` refuses a replay config with ``[execution] dry_run = false``).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs
import trio

from mevbot.replay.errors import RecordingError
from mevbot.replay.recording import RecordedFrame, Recording, read_recording
from mevbot.replay.settle import NotSettled, Settler

log = logging.getLogger("mevbot.replay.source")

#: Modules that read the recording: the monitor publishes it, the pipeline starts from it.
READERS = ("monitor", "pipeline")


@lru_cache(maxsize=2)
def _read(path: str, mtime_ns: int, size: int) -> Recording:
    return read_recording(path)


def load_replay(config: Any) -> Recording:
    """The recording named by ``[monitor] replay``, checked against this config's deployment.

    RecordingError (file and line) when it cannot be read, or when its manifest is not the one
    ``[parser] manifest`` names: the pools, tokens and routers of the replay would not be the
    recording's."""
    from mevbot.runtime.deployment import load_manifest

    path = config.monitor.replay
    try:
        st = Path(path).stat()
        recording = _read(str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        recording = read_recording(path)  # raises the RecordingError that says why
    try:
        mine = json.loads(json.dumps(load_manifest(config)))
    except Exception as exc:  # missing or malformed manifest file
        raise RecordingError(str(path), f"cannot compare with [parser] manifest {config.parser.manifest}: {exc}") from exc
    recorded = recording.header.manifest
    if mine != recorded:
        keys = sorted(k for k in set(mine) | set(recorded) if mine.get(k) != recorded.get(k))
        raise RecordingError(str(path), f"recorded on another deployment: its manifest differs from [parser] "
                                        f"manifest {config.parser.manifest} in {', '.join(keys)} (point [parser] "
                                        "manifest at the manifest the recording was made with)")
    return recording


@attrs.frozen
class RecordedStart:
    """What the pipeline starts from in a replay instead of reading the chain."""

    block_number: int
    snapshots: tuple[Any, ...]  # PoolSnapshot per recorded pool
    chain: Any  # RecordedChain: answers nothing beyond the recording


def recorded_start(config: Any) -> RecordedStart | None:
    """The pipeline's start under ``[monitor] replay`` (None when live)."""
    if not config.monitor.replay:
        return None
    from mevbot.pools.state import PoolSnapshot
    from mevbot.replay.replayer import RecordedChain

    recording = load_replay(config)
    block = recording.header.block_number
    return RecordedStart(block, tuple(PoolSnapshot(p.address, p.state, block) for p in recording.pools),
                         RecordedChain())


def snapshot_change(recording: Recording):
    """The recording's start state as the pipeline publishes its own snapshot."""
    from mevbot.pools.messages import PoolStateChange, PoolStateEntry

    entries = tuple(PoolStateEntry.of(p.address, p.state) for p in sorted(recording.pools, key=lambda p: p.address))
    return PoolStateChange(entries, recording.header.block_number, cause="snapshot")


def replay_processes(bus: Any) -> list[str]:
    """Every process of this bus's placement (just this one when monolithic)."""
    deploy = getattr(bus, "deploy", None)
    if deploy is not None and deploy.processes and bus.process in deploy.processes:
        return sorted(deploy.processes)
    return [bus.process]


async def run_replay(ctx: Any, *, began=lambda: None, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """The monitor module's ``run`` under ``[monitor] replay``; see the module docstring.
    ``began()`` is called right before the first message is published."""
    from mevbot.feed.client import FeedClient
    from mevbot.feed.module import TOPIC_CHAIN_HEAD, TOPIC_FEED_BLOCK, TOPIC_POOL_LOGS
    from mevbot.feed.reorg import TOPIC_FEED_REORG, FeedReorg
    from mevbot.pools.messages import TOPIC_POOL_STATE
    from mevbot.rpc.chaindata import BlockHead

    cfg, bus, full = ctx.config, ctx.bus, ctx.full_config
    recording = load_replay(full)
    header, path = recording.header, recording.path
    settler = Settler(bus, replay_processes(bus))
    counts = {"blocks": 0, "heads": 0, "logs": 0, "gaps": 0, "reorgs": 0, "unsettled": 0}
    timeout_s = cfg.replay_settle_timeout_s

    async def publish(topic: str, payload: Any, **kw: Any) -> None:
        await ctx.gate.wait_open()
        await bus.publish(topic, payload, source="monitor", **kw)
        try:
            await settler.settle(timeout_s)
        except NotSettled as exc:
            counts["unsettled"] += 1
            ctx.log.error("%s; going on with the next event", exc)
            ctx.health.degraded(f"replay: {counts['unsettled']} event(s) did not settle")

    async def on_block(block) -> None:
        counts["blocks"] += 1
        await publish(TOPIC_FEED_BLOCK, block, trace_id=block.sequence_number)

    async def on_gap(first: int, last: int) -> None:
        counts["gaps"] += 1  # live, backfilled from RPC; the recording has no more
        ctx.log.warning("replay: sequence numbers %d..%d are not in the recording", first, last)

    async def on_reorg(seq: int, old_hash, new_hash) -> None:
        counts["reorgs"] += 1
        await publish(TOPIC_FEED_REORG, FeedReorg(seq, old_hash, new_hash), trace_id=seq)

    signers = [bytes.fromhex(a.removeprefix("0x")) for a in cfg.verify_signers]
    client = FeedClient(header.feed_urls, on_block=on_block, on_gap=on_gap, on_reorg=on_reorg,
                        chain_id=cfg.chain_id, verify_signers=signers, genesis_block=header.genesis_block,
                        start_sequence=header.sequence_number, log=ctx.log)
    ctx.health.ok(f"replay of {path}: waiting for {', '.join(settler.processes)}")
    task_status.started()
    await settler.wait_ready(full.deploy.peer_timeout_s if full.deploy.processes else timeout_s)
    ctx.log.info("replay of %s: %d frames, %d chain events from block %d, over process(es) %s", path,
                 len(recording.frames), len(recording.events) - len(recording.frames), header.block_number,
                 ", ".join(settler.processes))
    ctx.health.ok(f"replaying {path}")
    began()
    await publish(TOPIC_POOL_STATE, snapshot_change(recording))
    for event in recording.events:
        if isinstance(event, RecordedFrame):
            await client.feed_frame(header.feed_urls[event.feed], event.frame)
        elif isinstance(event.payload, BlockHead):
            counts["heads"] += 1
            await publish(TOPIC_CHAIN_HEAD, event.payload)
        else:
            counts["logs"] += 1
            await publish(TOPIC_POOL_LOGS, event.payload)
    done = (f"replay finished: {len(recording.frames)} frames ({counts['blocks']} blocks, {counts['gaps']} gaps, "
            f"{counts['reorgs']} reorgs), {counts['heads']} heads, {counts['logs']} log batches from {path}")
    ctx.log.info("%s; %d settle waves", done, settler.waves)
    if counts["unsettled"]:
        ctx.health.degraded(f"{done}; {counts['unsettled']} event(s) did not settle")
    else:
        ctx.health.ok(done)
    await trio.sleep_forever()  # the deployment keeps running: its store, status and ctl stay up
