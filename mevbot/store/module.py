"""The store module: every stored bus topic in, SQLite rows out, off the hot path.

It subscribes to the topics of :data:`mevbot.store.rows.TOPIC_ROWS` with ``dead-letter``
overflow, so a slow disk never makes a publisher wait: a message the store cannot keep up with
goes to the bus's dead letter queue, where it is counted and replayable. Messages become rows
(:mod:`mevbot.store.rows`) and go to the one :class:`~mevbot.store.writer.StoreWriter`. Alongside
run the retention task and a periodic snapshot of the Prometheus metrics into ``metrics``.

Stopping drains: whatever is still in the subscriptions or the writer's queue is written inside
``ctx.shielded_cleanup()`` before the connection closes. A critical topic's messages from a
peer (``[bus] critical_topics``: ``exec.result``) are acknowledged only once their rows are
committed (``ack="manual"``), so the publisher redelivers what a killed store never wrote.

Without a bus (tests, tools) :meth:`StoreModule.ingest` takes ``(topic, payload)`` directly.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import trio

from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.priority import MAX_BACKGROUND_WAIT_S, when_idle
from mevbot.store.retention import delete_expired, retention_cutoffs
from mevbot.store.rows import TOPIC_ROWS, Meta, Row, rows_for
from mevbot.store.schema import open_database
from mevbot.store.settings import StoreSettings
from mevbot.store.writer import StoreWriter

#: Messages turned into rows in one step of the event loop. A message costs about 20 µs to
#: convert (bench/store.py, rows_for), so a batch of a few hundred converted in one step held
#: the loop for milliseconds, and a feed frame arriving then waited for all of it; this many keep
#: a step well under a millisecond.
MESSAGES_PER_STEP = 32


def _meta_of(env: Any) -> Meta:
    return Meta(created_s=env.created_ns / 1e9, topic=env.topic, message_id=f"{env.id:032x}",
                trace_id=f"{env.trace_id:032x}", source=env.source)


class StoreModule(Module):
    name = "store"
    section = "store"
    depends_on = ()

    def __init__(self) -> None:
        self.writer: StoreWriter | None = None
        self.ignored_topics: collections.Counter[str] = collections.Counter()
        self.bad_payloads = 0
        self.expired_deleted = 0
        self._db_limiter = trio.CapacityLimiter(1)  # one thread at a time on the connection

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        settings: StoreSettings = ctx.config or StoreSettings()
        db = await trio.to_thread.run_sync(open_database, settings.path)
        writer = self.writer = StoreWriter(db, batch_rows=settings.batch_rows,
                                           flush_interval_s=settings.flush_interval_s,
                                           queue_size=settings.queue_size, log=ctx.log,
                                           limiter=self._db_limiter)
        from mevbot.observability.metrics import watch_store
        watch_store(self.stats)
        subs = []
        if ctx.bus is not None:
            # a critical topic (exec.result) from a peer is acknowledged only once its rows are
            # committed, so a store killed with results queued gets them again from the publisher
            subs = [ctx.bus.subscribe(topic, name=f"store:{topic}", queue_size=settings.queue_size,
                                      overflow="dead-letter",
                                      ack="manual" if ctx.bus.is_critical(topic) else "auto")
                    for topic in TOPIC_ROWS]
        unsent = [collections.deque() for _ in subs]  # per pump: rows taken, not yet queued
        taken = [[] for _ in subs]  # per pump: messages taken, waiting for an idle loop to become rows
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(writer.run)
                for sub, rows, envs in zip(subs, unsent, taken):
                    nursery.start_soon(self._pump, ctx, sub, rows, envs)
                nursery.start_soon(self._retention_loop, ctx, db)
                nursery.start_soon(self._metrics_loop, ctx)
                ctx.health.ok(f"writing {settings.path}")
                task_status.started()
        finally:
            with ctx.shielded_cleanup():
                leftover = [row for rows in unsent for row in rows]
                for envs in taken:
                    if envs:
                        leftover.extend(self._rows_of(ctx, envs))
                for sub in subs:
                    sub.close()
                    while sub.depth:
                        leftover.extend(self._rows_of(ctx, await sub.receive_batch()))
                drained = await writer.drain(leftover)
                ctx.log.info("store: drained %d rows at stop; %d written in total", drained,
                             writer.rows_written)
            db.close()  # quick, and must happen even when the cleanup was cut

    async def _pump(self, ctx: ModuleContext, sub: Any, unsent: collections.deque, taken: list) -> None:
        """Move envelopes from ``sub`` to the writer.

        A taken batch waits in ``taken`` and becomes rows a chunk at a time, each after an idle
        loop (:meth:`_convert`); the rows wait in ``unsent`` until the writer's channel accepted
        each one, so a STOP leaves every message either in ``taken`` or as rows queued or in
        ``unsent``, and the cleanup drains them all.
        """
        while True:
            batch = await sub.receive_batch(self.writer.batch_rows)
            # The store is never on the hot path: let the tasks the same messages woke (risk,
            # execution) and whatever they wake run first, instead of converting rows between
            # their steps (mevbot.runtime.priority). A STOP while it waits: the cleanup makes
            # the rows of what it holds.
            taken[:] = batch
            await self._convert(ctx, taken, unsent)
            while unsent:
                await self.writer.put(*unsent[0])
                unsent.popleft()
            if sub.manual_ack:
                await self.writer.wait_done(self.writer.accepted)
                sub.ack(*batch)
            if self.writer.failed_rows:
                ctx.health.degraded(f"{self.writer.failed_rows} rows could not be written; "
                                    "they are in failed_writes (see the log)")
            await ctx.gate.wait_open()

    async def _convert(self, ctx: ModuleContext, taken: list, unsent: collections.deque) -> None:
        """Turn the messages in ``taken`` into rows in ``unsent``, :data:`MESSAGES_PER_STEP` at a
        time, each chunk after an idle loop; the whole batch waits :data:`MAX_BACKGROUND_WAIT_S`
        at most, then the rest goes a chunk per checkpoint. A chunk leaves ``taken`` as its rows
        enter ``unsent``, with no await in between, so a STOP finds each message in one of them."""
        deadline = trio.current_time() + MAX_BACKGROUND_WAIT_S
        while taken:
            await when_idle(max(0.0, deadline - trio.current_time()))
            chunk = taken[:MESSAGES_PER_STEP]
            unsent.extend(self._rows_of(ctx, chunk))
            del taken[:len(chunk)]

    def _rows_of(self, ctx: ModuleContext, batch: list[Any]) -> list[tuple[str, Row]]:
        rows: list[tuple[str, Row]] = []
        for env in batch:
            rows.extend(self.rows(env.topic, env.payload, _meta_of(env), log=ctx.log))
        return rows

    def rows(self, topic: str, payload: Any, meta: Meta, *, log: Any = None) -> list[tuple[str, Row]]:
        """The rows of one message; none for an ignored topic (counted per topic) or a payload
        without its topic's fields (counted and logged once; the caller carries on)."""
        try:
            rows = rows_for(topic, payload, meta)
        except (AttributeError, TypeError, ValueError) as exc:
            self.bad_payloads += 1
            if log is not None:
                log.warning("store: %s payload %s does not fit its table: %s",
                            topic, type(payload).__name__, exc)
            return []
        if rows is None:
            self.ignored_topics[topic] += 1
            return []
        return rows

    async def ingest(self, topic: str, payload: Any, meta: Meta | None = None, *, log: Any = None) -> int:
        """Queue the rows of one message (waits while the writer's queue is full); returns how many."""
        rows = self.rows(topic, payload, meta or Meta(created_s=time.time(), topic=topic), log=log)
        for table, row in rows:
            await self.writer.put(table, row)
        return len(rows)

    async def _retention_loop(self, ctx: ModuleContext, db: Any) -> None:
        while True:
            await ctx.gate.wait_open()
            settings: StoreSettings = ctx.config or StoreSettings()
            cutoffs = retention_cutoffs(time.time(), retention_days=settings.retention_days,
                                        raw_feed_retention_days=settings.raw_feed_retention_days)
            # Shares the writer's one-thread limiter: a retention pass runs between two batches.
            deleted = await trio.to_thread.run_sync(delete_expired, db, cutoffs, limiter=self._db_limiter)
            total = sum(deleted.values())
            self.expired_deleted += total
            if total:
                ctx.log.info("store: retention deleted %d rows (%s)", total,
                             ", ".join(f"{t}={n}" for t, n in deleted.items() if n))
            await trio.sleep(settings.retention_interval_s)

    async def _metrics_loop(self, ctx: ModuleContext) -> None:
        from mevbot.observability.metrics import snapshot_samples
        while True:
            settings: StoreSettings = ctx.config or StoreSettings()
            await trio.sleep(settings.metrics_interval_s)
            await ctx.gate.wait_open()
            now = time.time()
            for name, labels, value in snapshot_samples():
                await self.writer.put("metrics", {"ts": now, "name": name, "labels": labels, "value": value})

    def stats(self) -> dict[str, Any]:
        stats = self.writer.stats() if self.writer else {}
        return {**stats, "ignored_topics": dict(self.ignored_topics), "bad_payloads": self.bad_payloads,
                "expired_deleted": self.expired_deleted}
