"""`mevbot replay`: a recording through the bot's own module code, in feed order, deterministically.

The modules' per-message handlers run unchanged (the monitor's :class:`FeedClient` frame
handling, ``ParserModule.on_block`` / ``on_logs``, ``PipelineModule._on_intent`` / ``_on_update``,
``ScannerModule._on_change``,
``RiskModule._judge`` / ``on_state`` / ``on_result``), but on a :class:`SequentialBus` instead of
the concurrent one: ``publish`` queues the message, and the first publish of a feed block
delivers the whole cascade it causes (intents, state changes, opportunities, decisions, requests,
results) breadth-first to fixed handlers in a fixed order before the next block is read. No task
scheduling is involved, so machine load cannot reorder anything.

What the recording cannot provide is fixed, never read from a live chain:

* time: the risk manager's clock is the receive time of the frame being replayed;
* chain heads and pool logs come from the recording (``head`` / ``logs`` records, in arrival
  order with the frames); before the first head, the base fee is the start block's;
* the executor's dry run: the on-chain ``eth_call`` simulation needs EVM state the recording does
  not hold, so replay builds the transaction the engine would send with
  :func:`mevbot.execution.engine.build_transaction`: the same calldata and fees (base fee of the
  last recorded head), gas limit = the scanner's gas estimate plus ``[execution]
  gas_margin_pct``, nonce counting up from the recording's ``sender_nonce``; unsigned, since
  replay never loads a key;
* tick data beyond the recorded bitmap words, and the refetch of a pool a V3 mint/burn made
  stale: a read fails like an RPC error (the scanner, pipeline skip that cycle, intent or
  refetch, log a warning and carry on).

Output: one JSON line per decision (see docs/replay.md), with no wall-clock time, message id or
random value in it.
"""

from __future__ import annotations

import collections
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import attrs

from mevbot.replay.errors import RecordingError, ReplayError
from mevbot.replay.recording import RecordedFrame, Recording
from mevbot.rpc.chaindata import BlockHead

log = logging.getLogger("mevbot.replay")

Handler = Callable[[Any, int], Awaitable[None]]  # (payload, trace id)

TOPIC_FEED_BLOCK = "feed.block"
TOPIC_SWAP_INTENT = "market.swap.intent"
TOPIC_CHAIN_HEAD = "chain.head"
TOPIC_POOL_LOGS = "market.pool.logs"
TOPIC_POOL_UPDATE = "market.pool.update"
TOPIC_POOL_STATE = "pools.state"
TOPIC_OPPORTUNITY = "arb.opportunity"
TOPIC_DECISION = "risk.decision"
TOPIC_BREAKER = "risk.breaker"
TOPIC_REQUEST = "exec.request"
TOPIC_RESULT = "exec.result"


class ChainNotRecorded(ReplayError):
    """Replay was asked for chain data beyond the recording (e.g. more V3 tick data)."""


class RecordedChain:
    """The RPC client handed to modules during replay: it knows nothing beyond the recording."""

    async def batch(self, calls):
        methods = sorted({method for method, _ in calls})
        raise ChainNotRecorded(f"replay has no chain: {len(calls)} call(s) to {', '.join(methods)} "
                               "(data outside the recording, e.g. tick words beyond v3_words_around)")

    async def call(self, method, params=()):
        raise ChainNotRecorded(f"replay has no chain: {method}")


class SequentialBus:
    """``publish`` with the bus's signature; delivery in publish order, one cascade at a time.

    Handlers of a topic run in the order they were routed. A publish from inside a handler is
    queued behind what is already queued (breadth-first), and the outermost publish returns once
    the queue is empty, so everything a feed block causes is done before the next block.
    """

    def __init__(self) -> None:
        self._routes: dict[str, list[Handler]] = {}
        self._queue: collections.deque[tuple[str, Any, int]] = collections.deque()
        self._delivering = False
        self.published: collections.Counter[str] = collections.Counter()

    def route(self, topic: str, handler: Handler) -> None:
        self._routes.setdefault(topic, []).append(handler)

    async def publish(self, topic: str, payload: Any, *, source: str = "", trace_id: int = 0, **_: Any) -> None:
        self._queue.append((topic, payload, trace_id))
        self.published[topic] += 1
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                topic, payload, trace = self._queue.popleft()
                for handler in self._routes.get(topic, ()):
                    await handler(payload, trace)
        finally:
            self._delivering = False

    async def publish_many(self, topic: str, payloads: Any, *, source: str = "", trace_id: int = 0,
                           **_: Any) -> None:
        """As the live bus: the same as publish() of each payload, in order."""
        for payload in payloads:
            await self.publish(topic, payload, source=source, trace_id=trace_id)


class DecisionWriter:
    """One JSON line per decision: ``{"kind", "trace", "payload"}``; payloads as the store keeps them."""

    def __init__(self, out: IO[str]) -> None:
        from mevbot.store.rows import converter

        self._out = out
        self._unstructure = converter.unstructure
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=False).encode
        self.counts: collections.Counter[str] = collections.Counter()

    def write(self, kind: str, payload: Any, trace: int | None = None) -> None:
        record = {"kind": kind, "trace": trace or None, "payload": self._unstructure(payload)}
        self._out.write(self._dumps(record) + "\n")
        self.counts[kind] += 1

    def raw(self, record: dict[str, Any]) -> None:
        self._out.write(self._dumps(record) + "\n")


@attrs.frozen
class WouldSend:
    """The transaction execution would send for one request (dry run, unsigned)."""

    request_id: str
    cycle_key: str
    seq: int | None
    tx_index: int | None
    expected_profit: int
    min_profit: int
    chain_id: int
    to: str
    nonce: int
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    value: int
    data: bytes


@attrs.frozen
class ReplaySummary:
    frames: int
    blocks: int
    decisions: dict[str, int]


class Replayer:
    """Builds the modules for one recording and drives them; see the module docstring."""

    def __init__(self, recording: Recording, config: Any, workdir: Path) -> None:
        self.recording = recording
        self.header = recording.header
        self.config = self._replay_config(config, workdir)
        self.bus = SequentialBus()
        self.chain = RecordedChain()
        self.now_s = self.header.started_at_ns / 1e9
        self.blocks = 0
        self.heads = 0
        self.gaps = 0
        self.reorgs = 0
        self._nonce = self.header.sender_nonce
        self.base_fee_wei = self.header.base_fee_wei  # of the last head replayed

    def _replay_config(self, config: Any, workdir: Path) -> Any:
        """The config with the recording's deployment and a private, empty risk state."""
        manifest = workdir / "manifest.json"
        manifest.write_text(json.dumps(self.header.manifest))
        return attrs.evolve(
            config,
            parser=attrs.evolve(config.parser, manifest=str(manifest), registry_db=":memory:"),
            # one scanner sees every cycle (a live deployment may split them into shards)
            scanner=attrs.evolve(config.scanner, shard="0/1"),
            # the live bot's emergency-stop file must not decide a replay's outcome
            risk=attrs.evolve(config.risk, state_path=str(workdir / "risk-state.json")),
        )

    def _context(self, name: str, section: Any):
        from mevbot.runtime.module import ModuleContext

        return ModuleContext(config=section, log=logging.getLogger(f"mevbot.replay.{name}"), bus=self.bus,
                             full_config=self.config)

    async def run(self, out: IO[str]) -> ReplaySummary:
        from mevbot.execution.engine import ExecutionResult
        from mevbot.feed.client import FeedClient
        from mevbot.feed.reorg import TOPIC_FEED_REORG, TOPIC_MARKET_REORG, FeedReorg
        from mevbot.parser.module import ParserModule
        from mevbot.pools.module import PipelineModule
        from mevbot.pools.state import PoolSnapshot
        from mevbot.risk.breakers import EmergencyStopStore
        from mevbot.risk.module import RiskModule
        from mevbot.runtime.deployment import load_manifest, load_registry
        from mevbot.scanner.module import ScannerModule

        cfg, header, bus = self.config, self.header, self.bus
        writer = DecisionWriter(out)
        writer.raw({"kind": "replay", "format": 1, "chain_id": header.chain_id, "block_number": header.block_number,
                    "sequence_number": header.sequence_number, "pools": len(self.recording.pools),
                    "frames": len(self.recording.frames)})

        parser, pipeline, scanner = ParserModule(), PipelineModule(), ScannerModule()
        risk = RiskModule(clock=lambda: self.now_s)
        parser_ctx = self._context("parser", cfg.parser)
        pipeline_ctx = self._context("pipeline", cfg.pipeline)
        scanner_ctx = self._context("scanner", cfg.scanner)
        risk_ctx = self._context("risk", cfg.risk)

        try:
            parser.build(parser_ctx)
            pipeline.registry = load_registry(cfg)
            scanner._build(scanner_ctx)
        except Exception as exc:  # the recorded manifest names routers/pools the modules cannot use
            raise RecordingError(self.recording.path, f"the recorded manifest cannot be used: {exc}", 1) from exc
        pipeline.rpc = self.chain
        scanner.base_fee_wei = header.base_fee_wei
        risk.breaker = risk._make_breaker(cfg.risk)
        risk.stop = EmergencyStopStore(cfg.risk.state_path)
        execution = cfg.execution
        executor = execution.executor or (load_manifest(cfg).get("contracts") or {}).get("executor", "")

        async def on_block(block, trace: int) -> None:
            self.blocks += 1
            await parser.on_block(parser_ctx, block, trace)

        async def on_head(head, trace: int) -> None:
            if head.base_fee_per_gas is not None:  # as ScannerModule._heads does
                scanner.base_fee_wei = head.base_fee_per_gas
                self.base_fee_wei = head.base_fee_per_gas

        async def on_logs(block_logs, trace: int) -> None:
            await parser.on_logs(parser_ctx, block_logs, trace)

        async def on_update(update, trace: int) -> None:
            await pipeline._on_update(pipeline_ctx, update, trace)

        async def on_intent(intent, trace: int) -> None:
            await pipeline._on_intent(pipeline_ctx, intent, trace)

        async def on_feed_reorg(reorg, trace: int) -> None:
            self.reorgs += 1
            await parser.on_reorg(parser_ctx, reorg, trace)

        async def on_market_reorg(reorg, trace: int) -> None:
            await pipeline._on_reorg(pipeline_ctx, reorg, trace)

        async def on_state_for_risk(change, trace: int) -> None:
            await risk.on_state(risk_ctx, change, trace)

        async def on_state_for_scanner(change, trace: int) -> None:
            await scanner._on_change(scanner_ctx, self.chain, change, trace)

        async def on_opportunity(opp, trace: int) -> None:
            writer.write("opportunity", opp, trace)
            await risk._judge(risk_ctx, opp, trace)

        async def on_decision(decision, trace: int) -> None:
            writer.write("risk_decision", decision, trace)

        async def on_breaker(trip, trace: int) -> None:
            writer.write("breaker_trip", trip, trace)

        async def on_request(request, trace: int) -> None:
            opp = request.opportunity
            if not executor:  # as the execution module does without an executor contract
                result = ExecutionResult(request.request_id, opp.cycle_key, "dropped", "no executor contract",
                                         opp.gross_profit, seq=opp.seq, tx_index=opp.tx_index)
                writer.write("execution_dropped", result, trace)
            else:
                tx = self._would_send(request, executor)
                writer.write("would_send", tx, trace)
                result = ExecutionResult(request.request_id, opp.cycle_key, "dry_run",
                                         "replay: built, not simulated or sent", opp.gross_profit,
                                         calldata="0x" + tx.data.hex(), nonce=tx.nonce, gas_limit=tx.gas,
                                         seq=opp.seq, tx_index=opp.tx_index)
            await bus.publish(TOPIC_RESULT, result, source="execution", trace_id=trace)

        async def on_result(result, trace: int) -> None:
            await risk.on_result(risk_ctx, result, trace)

        bus.route(TOPIC_FEED_BLOCK, on_block)
        bus.route(TOPIC_SWAP_INTENT, on_intent)
        bus.route(TOPIC_FEED_REORG, on_feed_reorg)
        bus.route(TOPIC_MARKET_REORG, on_market_reorg)
        bus.route(TOPIC_CHAIN_HEAD, on_head)
        bus.route(TOPIC_POOL_LOGS, on_logs)
        bus.route(TOPIC_POOL_UPDATE, on_update)
        # risk sees a state change before the scanner's opportunities from it: a wild move
        # trips the breaker before they are judged (on the live bus this is a race)
        bus.route(TOPIC_POOL_STATE, on_state_for_risk)
        bus.route(TOPIC_POOL_STATE, on_state_for_scanner)
        bus.route(TOPIC_OPPORTUNITY, on_opportunity)
        bus.route(TOPIC_DECISION, on_decision)
        bus.route(TOPIC_BREAKER, on_breaker)
        bus.route(TOPIC_REQUEST, on_request)
        bus.route(TOPIC_RESULT, on_result)

        # the pipeline's start: the recorded snapshot instead of an RPC read
        for pool in self.recording.pools:
            pipeline.book.set_snapshot(PoolSnapshot(pool.address, pool.state, header.block_number))
        pipeline.block_number = header.block_number
        pipeline.book.genesis_block = header.genesis_block  # as PipelineModule.run takes it from the manifest
        await pipeline._publish(pipeline_ctx, pipeline.book.pools(), cause="snapshot")

        async def publish_block(block) -> None:
            await bus.publish(TOPIC_FEED_BLOCK, block, source="monitor", trace_id=block.sequence_number)

        async def on_gap(first: int, last: int) -> None:
            self.gaps += 1  # live, the monitor backfills these from RPC; the recording has no more
            writer.raw({"kind": "feed_gap", "trace": None, "payload": {"first": first, "last": last}})

        monitor = cfg.monitor
        signers = [bytes.fromhex(a.removeprefix("0x")) for a in monitor.verify_signers]
        async def on_reorg(seq: int, old_hash, new_hash) -> None:  # as the monitor module does
            await bus.publish(TOPIC_FEED_REORG, FeedReorg(seq, old_hash, new_hash), source="monitor", trace_id=seq)

        client = FeedClient(header.feed_urls, on_block=publish_block, on_gap=on_gap, on_reorg=on_reorg,
                            chain_id=monitor.chain_id,
                            verify_signers=signers, genesis_block=header.genesis_block,
                            start_sequence=header.sequence_number, log=logging.getLogger("mevbot.replay.monitor"))
        for event in self.recording.events:
            self.now_s = event.received_ns / 1e9
            if isinstance(event, RecordedFrame):
                await client.feed_frame(header.feed_urls[event.feed], event.frame)
            elif isinstance(event.payload, BlockHead):
                self.heads += 1
                await bus.publish(TOPIC_CHAIN_HEAD, event.payload, source="monitor")
            else:
                await bus.publish(TOPIC_POOL_LOGS, event.payload, source="monitor")

        stats = [client.stats[url] for url in header.feed_urls]
        summary = {
            "frames": len(self.recording.frames), "blocks": self.blocks, "gaps": self.gaps, "reorgs": self.reorgs, "heads": self.heads,
            "pool_updates": bus.published[TOPIC_POOL_UPDATE],
            "updates_applied": pipeline.book.counters.updates_applied,
            "intents_reconciled": pipeline.book.counters.reconciled,
            "intent_mismatches": pipeline.book.counters.mismatches,
            "frames_undecodable": sum(s.decode_errors for s in stats),
            "signature_rejections": sum(s.signature_rejections for s in stats),
            "duplicates": sum(s.duplicates for s in stats),
            "intents": bus.published[TOPIC_SWAP_INTENT], "state_changes": bus.published[TOPIC_POOL_STATE],
            "intents_applied": pipeline.book.counters.intents_applied,
            "intents_skipped": pipeline.book.counters.intents_skipped,
            "cycles_evaluated": scanner.scanner.counters.cycles_evaluated,
            "opportunities": writer.counts["opportunity"], "approved": risk.approved, "rejected": risk.rejected,
            "would_send": writer.counts["would_send"], "breaker_trips": writer.counts["breaker_trip"],
        }
        writer.raw({"kind": "summary", "trace": None, "payload": summary})
        return ReplaySummary(len(self.recording.frames), self.blocks, dict(writer.counts))

    def _would_send(self, request, executor: str) -> WouldSend:
        from mevbot.execution.contract import execute_calldata
        from mevbot.execution.engine import build_transaction, min_profit_of

        s = self.config.execution
        opp = request.opportunity
        min_profit = min_profit_of(opp, s)
        calldata = execute_calldata(opp, min_profit=min_profit, flash=s.flash)
        gas_limit = opp.gas_units * (100 + s.gas_margin_pct) // 100
        tx = build_transaction(calldata, s, executor=executor, chain_id=self.header.chain_id, gas_limit=gas_limit,
                               base_fee_wei=self.base_fee_wei, nonce=self._nonce)
        self._nonce += 1
        return WouldSend(request.request_id, opp.cycle_key, opp.seq, opp.tx_index, opp.gross_profit, min_profit,
                         tx["chainId"], tx["to"], tx["nonce"], tx["gas"], tx["maxFeePerGas"],
                         tx["maxPriorityFeePerGas"], tx["value"], tx["data"])


async def replay_recording(recording: Recording, config: Any, out: IO[str]) -> ReplaySummary:
    """Replay ``recording`` under ``config`` into ``out`` (JSON lines)."""
    with tempfile.TemporaryDirectory(prefix="mevbot-replay-") as workdir:
        return await Replayer(recording, config, Path(workdir)).run(out)
