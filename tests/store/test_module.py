"""The store module on a real bus: every stored topic lands in its table, stopping loses
nothing, retention deletes old rows, and no private key ever reaches the file."""

from __future__ import annotations

import logging
import sqlite3
import time

import trio
import trio.testing

from mevbot.bus.bus import Bus
from mevbot.runtime.module import ModuleContext
from mevbot.store.module import StoreModule
from mevbot.store.settings import StoreSettings
from tests.store import messages as m


def _context(tmp_path, bus=None, **settings) -> ModuleContext:
    return ModuleContext(config=StoreSettings(path=str(tmp_path / "store.sqlite"), **settings),
                         log=logging.getLogger("mevbot.store"), bus=bus)


async def _until(condition, timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.005)


def _count(tmp_path, table: str) -> int:
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


async def test_every_stored_topic_published_on_the_bus_lands_in_its_table(tmp_path):
    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path, bus))
        for topic, message, _ in m.EVERY_TOPIC:
            await bus.publish(topic, message, source="test")
        await bus.publish("market.pool.update", m.pool_created(), source="test")
        await _until(lambda: store.writer.rows_written == len(m.EVERY_TOPIC) + 3)
        from mevbot.observability.metrics import REGISTRY
        assert REGISTRY.get_sample_value("mevbot_store_rows_written_total", {"table": "tokens"}) == 2
        nursery.cancel_scope.cancel()
    for _, _, table in m.EVERY_TOPIC:
        assert _count(tmp_path, table) == 1, table
    assert _count(tmp_path, "pools") == 1 and _count(tmp_path, "tokens") == 2
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        source, trace = db.execute("SELECT source, trace_id FROM swaps").fetchone()
    assert source == "test" and len(trace) == 32


async def test_stopping_the_module_writes_every_message_already_published(tmp_path):
    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    ctx = _context(tmp_path, bus, flush_interval_s=60, batch_rows=100)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, ctx)
        for i in range(2500):
            await bus.publish("risk.decision", m.decision(), source="test")
        nursery.cancel_scope.cancel()  # STOP: most messages are still queued somewhere
    assert _count(tmp_path, "risk_decisions") == 2500


async def test_unknown_topics_and_misfit_payloads_are_counted_and_skipped(tmp_path):
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path))
        assert await store.ingest("some.other.topic", m.decision()) == 0
        assert await store.ingest("risk.decision", m.swap_intent(), log=logging.getLogger("t")) == 0
        assert await store.ingest("risk.decision", m.decision()) == 1
        await _until(lambda: store.writer.rows_written == 1)
        nursery.cancel_scope.cancel()
    assert store.ignored_topics == {"some.other.topic": 1} and store.bad_payloads == 1


async def test_retention_deletes_rows_older_than_their_tables_horizon_and_keeps_pools(tmp_path):
    from mevbot.store.rows import Meta

    now = time.time()
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path, retention_days=30, raw_feed_retention_days=7,
                                                retention_interval_s=3600))
        for age_days, topic, message in [(40, "risk.decision", m.decision()), (1, "risk.decision", m.decision()),
                                         (10, "feed.block", m.feed_block()), (1, "feed.block", m.feed_block()),
                                         (400, "market.pool.update", m.pool_created())]:
            await store.ingest(topic, message, Meta(created_s=now - age_days * 86400, topic=topic))
        await _until(lambda: store.writer.rows_written == 7)
        nursery.cancel_scope.cancel()
    # The retention pass runs at start; run the module again on the same file to apply it.
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path, retention_days=30, raw_feed_retention_days=7))
        await _until(lambda: store.expired_deleted == 2)
        nursery.cancel_scope.cancel()
    assert _count(tmp_path, "risk_decisions") == 1 and _count(tmp_path, "feed_messages") == 1
    assert _count(tmp_path, "pools") == 1 and _count(tmp_path, "tokens") == 2


async def test_the_database_never_contains_the_signing_key_of_a_stored_transaction(tmp_path):
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path))
        for topic, message, _ in m.EVERY_TOPIC:
            await store.ingest(topic, message)
        await _until(lambda: store.writer.rows_written == len(m.EVERY_TOPIC))
        nursery.cancel_scope.cancel()
    key = bytes(m.SIGNER.key)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("store.sqlite"))
    assert m.feed_block().transactions[0].raw.hex().encode() in blob  # the tx is there...
    for form in (key, key.hex().encode(), key.hex().upper().encode()):
        assert form not in blob  # ...its key is not


async def test_under_pressure_every_message_is_either_stored_or_dead_lettered_never_lost(tmp_path):
    """Tiny queues: the pumps block on a full writer channel, subscriptions overflow into the
    bus's dead letter queue (the publisher never waits), and STOP comes mid-flight."""
    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    ctx = _context(tmp_path, bus, queue_size=50, batch_rows=20, flush_interval_s=0.001)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, ctx)
        for i in range(2500):
            await bus.publish("risk.decision", m.decision(), source="test")
            if i % 40 == 0:
                await trio.sleep(0)
        nursery.cancel_scope.cancel()
    stored = _count(tmp_path, "risk_decisions")
    assert stored + bus.dlq.total == 2500
    assert stored >= 50 and bus.dlq.total > 0


async def test_a_snapshot_of_the_prometheus_metrics_is_stored_periodically(tmp_path):
    from mevbot.observability import metrics

    metrics.observe_stage("decoded", 0.002)
    store = StoreModule()
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path, metrics_interval_s=0.02))
        await _until(lambda: store.writer.rows_by_table["metrics"] > 0)
        nursery.cancel_scope.cancel()
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        rows = db.execute("SELECT labels, value FROM metrics WHERE name = 'mevbot_stage_latency_seconds_count'"
                          " AND labels = '{\"stage\": \"decoded\"}'").fetchall()
    assert rows and rows[0][1] >= 1


async def test_a_paused_store_takes_no_new_messages_until_resumed(tmp_path):
    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    ctx = _context(tmp_path, bus)
    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, ctx)
        ctx.gate.close()
        await bus.publish("risk.decision", m.decision(), source="test")  # the batch in hand is finished
        await _until(lambda: store.writer.rows_written == 1)
        await bus.publish("risk.decision", m.decision(), source="test")
        await trio.testing.wait_all_tasks_blocked()
        assert store.writer.queued == 0 and store.writer.rows_written == 1  # held in the subscription
        ctx.gate.open()
        await _until(lambda: store.writer.rows_written == 2)
        nursery.cancel_scope.cancel()


async def test_a_critical_result_from_a_peer_is_acknowledged_only_once_its_row_is_committed(tmp_path):
    """Two buses over a real Unix socket: the execution side ("exec") keeps exec.result pending
    in its journal while the store's database is busy, and forgets it once the row is in."""
    from mevbot.bus.journal import Journal
    from mevbot.bus.settings import BusSettings
    from tests.bus.test_critical import wait_for
    from transports.unix import UnixTransport

    from mevbot.bus.catalog import register_all

    register_all()  # the real catalog: the link's own messages and ExecutionResult
    settings = BusSettings(persist_path="", critical_topics=["exec.result"])
    execution = Bus(settings, process="exec", journal=Journal(str(tmp_path / "exec.sqlite")))
    store_bus = Bus(settings, process="store", journal=Journal(str(tmp_path / "store-bus.sqlite")))
    store = StoreModule()
    address = str(tmp_path / "store.sock")
    async with trio.open_nursery() as nursery:
        await nursery.start(store_bus.serve, UnixTransport(), address)
        nursery.start_soon(execution.dial, "store", UnixTransport(), address)
        await nursery.start(store.run, _context(tmp_path, store_bus))
        await wait_for(lambda: "store" in execution.links and execution.links["store"].wants("exec.result"))
        async with store._db_limiter:  # the database is busy: nothing can be committed
            await execution.publish("exec.result", m.exec_result(), source="execution")
            await wait_for(lambda: store.writer.accepted == 1)  # received and queued for the writer
            await trio.testing.wait_all_tasks_blocked(0.05)
            assert execution.journal.pending_count("store") == 1  # not acknowledged yet
        await wait_for(lambda: execution.journal.pending_count("store") == 0)
        assert _count(tmp_path, "execution_results") == 1
        nursery.cancel_scope.cancel()


async def test_the_store_converts_a_message_only_after_the_other_tasks_it_woke_have_run(tmp_path):
    """The store is off the hot path: a message that wakes the store and a latency-critical
    consumer (risk, say) is handled by that consumer first, every time. trio runs the tasks woken
    together in either order, so without the store's yield this fails about half the time."""
    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    topic, message, _ = next(row for row in m.EVERY_TOPIC if row[0] == "arb.opportunity")
    order: list[str] = []
    converted = store._rows_of

    def rows_of(ctx, batch):
        order.append("store")
        return converted(ctx, batch)

    store._rows_of = rows_of

    async def consumer(*, task_status=trio.TASK_STATUS_IGNORED):
        with bus.subscribe(topic, name="risk") as sub:
            task_status.started()
            async for _ in sub:
                order.append("consumer")

    async with trio.open_nursery() as nursery:
        await nursery.start(store.run, _context(tmp_path, bus))
        await nursery.start(consumer)
        await trio.testing.wait_all_tasks_blocked()  # both parked on their subscriptions
        for i in range(30):
            await bus.publish(topic, message, source="test")
            await _until(lambda: len(order) == 2 * (i + 1))
        nursery.cancel_scope.cancel()
    assert order == ["consumer", "store"] * 30


class StepCounter(trio.abc.Instrument):
    """How many messages one task converts in each of its steps (the store's pump)."""

    def __init__(self) -> None:
        self.in_step = 0
        self.most_in_a_step = 0

    def before_task_step(self, task) -> None:
        self.in_step = 0

    def after_task_step(self, task) -> None:
        self.most_in_a_step = max(self.most_in_a_step, self.in_step)


async def test_a_large_batch_becomes_rows_a_chunk_per_step_so_the_loop_is_never_held_long(tmp_path):
    """rows_for costs ~20 µs a message: 400 messages taken at once used to be converted in one
    step (~8 ms with the loop held); now at most MESSAGES_PER_STEP per step, and all are stored."""
    from mevbot.store.module import MESSAGES_PER_STEP

    bus = Bus(registry=m.message_registry())
    store = StoreModule()
    counter = StepCounter()
    convert = store.rows

    def rows(*args, **kwargs):
        counter.in_step += 1
        return convert(*args, **kwargs)

    store.rows = rows
    trio.lowlevel.add_instrument(counter)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(store.run, _context(tmp_path, bus, batch_rows=500))
            # one run of 400 into the store's subscription, taken by the store as one batch
            await bus.publish_many("risk.decision", [m.decision() for _ in range(400)], source="test")
            await _until(lambda: store.writer.rows_written == 400)
            nursery.cancel_scope.cancel()
    finally:
        trio.lowlevel.remove_instrument(counter)
    assert _count(tmp_path, "risk_decisions") == 400
    assert 0 < counter.most_in_a_step <= MESSAGES_PER_STEP
