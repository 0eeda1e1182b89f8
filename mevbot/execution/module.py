"""The execution module: approved requests in, transactions out, results on a critical topic.

Each ``exec.request`` (critical: persisted and redelivered, so it may arrive twice) is handled
once, keyed by its request id, in arrival order, and acknowledged (``ack="manual"``) only once
its ``exec.result`` is published, whatever the status (sent, simulated, dropped): a request still
queued here, or held at the paused gate, when this process is killed is redelivered by its
publisher after the restart. One whose handling raised is not acknowledged either: the
restarted module is handed it again and, finding its id handled, acknowledges it unanswered
rather than risk a second send. The emergency stop is checked right before
every send. A request being handled when the module is stopped is finished first (within the
shutdown deadline), so a clean stop never leaves a sent transaction without its result. Requests are
simulated and sent one at a time, in arrival order (so nonces follow it), priced with the base fee
of the newest ``chain.head`` (followed in a task of its own); a sent transaction's
receipt is awaited in a task of its own, so the next request does not wait up to a block for it,
and results are published as their receipts come. In dry-run mode (the default) requests are
simulated and never sent.
"""

from __future__ import annotations

import trio

from mevbot.execution.engine import TOPIC_REQUEST, TOPIC_RESULT, ExecutionEngine, ExecutionResult, Submitted
from mevbot.feed.module import TOPIC_CHAIN_HEAD
from mevbot.observability import metrics
from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.priority import hot_path


class ExecutionModule(Module):
    name = "execution"
    section = "execution"
    depends_on = ("risk",)
    trades = True

    def __init__(self) -> None:
        self.engine: ExecutionEngine | None = None
        self.handled: set[str] = set()
        self.counts: dict[str, int] = {}

    def apply_config(self, ctx: ModuleContext, new_section) -> None:
        ctx.config = new_section
        if self.engine is not None:
            self.engine.settings = new_section

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        from contextlib import AsyncExitStack

        from mevbot.execution.errors import KeyLoadError
        from mevbot.execution.keys import load_trading_key
        from mevbot.risk.breakers import EmergencyStopStore
        from mevbot.rpc.client import RpcClient
        from mevbot.rpc.errors import RpcError
        from mevbot.rpc.ws_calls import WsCalls
        from mevbot.runtime.deployment import load_manifest

        cfg, full = ctx.config, ctx.full_config
        stop = EmergencyStopStore(full.risk.state_path)
        async with AsyncExitStack() as stack:
            rpc = await stack.enter_async_context(RpcClient.from_settings(full.rpc))
            senders = [await stack.enter_async_context(
                WsCalls(url, timeout_s=full.rpc.timeout_s) if url.startswith(("ws://", "wss://"))
                else RpcClient([url], retries=0)) for url in cfg.sequencer_urls]
            chain_id = await rpc.chain_id()
            try:
                key = load_trading_key(cfg, rpc_url=full.rpc.http_urls[0],
                                       client_version=str(await rpc.call("web3_clientVersion")))
            except KeyLoadError as exc:
                if not cfg.dry_run:
                    raise
                ctx.log.warning("dry run without a trading key: %s", exc)
                key = None
            executor = cfg.executor or (load_manifest(full).get("contracts") or {}).get("executor", "")
            if not executor:
                if not cfg.dry_run:
                    raise KeyLoadError("no executor contract: set [execution] executor or deploy one "
                                       "(`mevbot contract deploy`, or the devnet deploys one)")
                ctx.log.warning("no executor contract configured: requests are dropped unsimulated")
            self.engine = ExecutionEngine(rpc=rpc, senders=senders, key=key, executor=executor,
                                          settings=cfg, chain_id=chain_id)
            await rpc.wait_connected(full.rpc.timeout_s)  # the first simulation over the WebSocket, not HTTP
            try:  # the base fee and the nonce, before the first request needs them
                await self.engine.prepare()
            except RpcError as exc:
                ctx.log.warning("could not read the base fee or the nonce yet (the first request will): %s", exc)
            with ctx.bus.subscribe(TOPIC_REQUEST, name="execution.requests", ack="manual") as requests, \
                    ctx.bus.subscribe(TOPIC_CHAIN_HEAD, name="execution.heads", overflow="drop-oldest") as heads:
                mode = "dry run" if cfg.dry_run or key is None else f"live as {key.address}"
                if executor:
                    ctx.health.ok(f"{mode}, executor {executor}")
                else:
                    ctx.health.degraded("no executor contract: nothing can be simulated or sent")
                task_status.started()

                def halted() -> str | None:
                    current = stop.refresh()
                    return f"emergency stop: {current.reason}" if current.active else None

                # Sent transactions wait for their receipts here, so the next request is simulated
                # and sent without waiting up to a block for the previous one's receipt.
                async with trio.open_nursery() as follower:
                    follower.start_soon(self._follow_heads, heads)
                    async with trio.open_nursery() as receipts:
                        async for env in requests:
                            if not ctx.gate.is_open:  # wait_open() checkpoints even when open
                                await ctx.gate.wait_open()
                            request = env.payload
                            if request.request_id in self.handled:
                                requests.ack(env)  # a redelivery of a critical message we already handled
                                continue
                            self.handled.add(request.request_id)
                            # A request once started is finished, result published, even if STOP comes
                            # meanwhile: a sent transaction is never left untracked by a clean shutdown
                            # (the shutdown deadline still cuts it; the receipt waits are shielded too).
                            with ctx.shielded_cleanup():
                                await self._handle(ctx, env, request, executor, halted, receipts, requests)
                    follower.cancel_scope.cancel()

    async def _follow_heads(self, heads) -> None:
        """Keep the engine's base fee at the newest head's, so no request reads it from the node."""
        async for env in heads:
            self.engine.observe_head(env.payload.number, env.payload.base_fee_per_gas)

    async def _handle(self, ctx: ModuleContext, env, request, executor: str, halted, receipts, requests) -> None:
        """Simulate and send ``request``; its result is published and ``env`` acknowledged now,
        or, once sent, by a receipt task in ``receipts``."""
        if not executor:
            opp = request.opportunity
            result = ExecutionResult(request.request_id, opp.cycle_key, "dropped", "no executor contract",
                                     opp.gross_profit, seq=opp.seq, tx_index=opp.tx_index)
        else:
            with hot_path():  # simulated, signed and sent before background work resumes
                outcome = await self.engine.submit(request, halted=halted)
            if isinstance(outcome, Submitted):
                receipts.start_soon(self._track, ctx, env, request, outcome, requests)
                return
            result = outcome
        await self._publish(ctx, env, request, result)
        requests.ack(env)  # its exec.result is published (journalled if critical)

    async def _track(self, ctx: ModuleContext, env, request, submitted: Submitted, requests) -> None:
        with ctx.shielded_cleanup():  # entered before this task's first checkpoint
            result = await self.engine.track(submitted)
            await self._publish(ctx, env, request, result)
        requests.ack(env)

    async def _publish(self, ctx: ModuleContext, env, request, result: ExecutionResult) -> None:
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if result.signed_ns is not None:
            metrics.observe_trace_stage("signed", env.trace_id, result.signed_ns)
        if result.sent_ns is not None:
            metrics.observe_trace_stage("sent", env.trace_id, result.sent_ns)
        log = ctx.log.warning if result.status in ("reverted", "failed") else ctx.log.info
        log("%s %s: %s (expected %d, realised %s)", request.request_id, result.status, result.reason,
            result.expected_profit, result.realised_profit)
        await ctx.bus.publish(TOPIC_RESULT, result, source=self.name, trace_id=env.trace_id)
