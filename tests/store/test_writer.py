"""The writer: batches, never loses a row (retry, then failed_writes), drains at shutdown."""

from __future__ import annotations

import json
import logging

import pytest
import trio

from mevbot.store.schema import open_database
from mevbot.store.writer import StoreWriter


@pytest.fixture
def db(tmp_path):
    db = open_database(tmp_path / "w.sqlite")
    yield db
    db.close()


def _metric(i: int) -> dict:
    return {"ts": 1000.0 + i, "name": "m", "labels": "{}", "value": float(i)}


async def _until(condition, timeout_s: float = 10.0) -> None:
    """Poll a real condition (rows land from a worker thread) with a deadline."""
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.005)


async def test_rows_are_written_in_batches_of_at_most_batch_rows(db):
    writer = StoreWriter(db, batch_rows=100, flush_interval_s=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(1050):
            await writer.put("metrics", _metric(i))
        await _until(lambda: writer.rows_written == 1050)
        nursery.cancel_scope.cancel()
    assert db.execute("SELECT COUNT(*), SUM(value) FROM metrics").fetchone() == (1050, sum(range(1050)))
    assert writer.batches >= 11  # 1050 rows, at most 100 per transaction


async def test_a_lone_row_is_written_within_the_flush_interval(db):
    writer = StoreWriter(db, batch_rows=500, flush_interval_s=0.01)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await writer.put("metrics", _metric(1))
        await _until(lambda: writer.rows_written == 1)
        nursery.cancel_scope.cancel()
    assert writer.batches == 1


async def test_a_bad_row_goes_to_failed_writes_and_the_rest_of_its_batch_is_stored(db, caplog):
    caplog.set_level(logging.WARNING)
    writer = StoreWriter(db, batch_rows=10, flush_interval_s=10)
    for i in range(4):
        writer.offer("metrics", _metric(i))
    writer.offer("metrics", {"ts": 1.0, "name": "bad", "no_such_column": 1})
    for i in range(4, 9):
        writer.offer("metrics", _metric(i))
    writer.offer("swaps", {"ts": 2.0, "tx_hash": "0x1", "payload": "{}"})
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await _until(lambda: writer.rows_written + writer.failed_rows == 10)
        nursery.cancel_scope.cancel()
    assert db.execute("SELECT COUNT(*) FROM metrics").fetchone() == (9,)
    [(table, error, row)] = db.execute("SELECT table_name, error, row FROM failed_writes").fetchall()
    assert table == "metrics" and "no_such_column" in error and json.loads(row)["name"] == "bad"
    assert writer.retries == 1 and writer.failed_rows == 1
    assert "retrying once" in caplog.text and "kept in failed_writes" in caplog.text


async def test_a_row_with_an_integer_beyond_64_bits_is_dead_lettered_not_a_crash(db):
    writer = StoreWriter(db, batch_rows=10, flush_interval_s=0.001)
    writer.offer("swaps", {"ts": 1.0, "tx_index": 2**70, "payload": "{}"})
    writer.offer("swaps", {"ts": 2.0, "tx_index": 3, "payload": "{}"})
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        await _until(lambda: writer.rows_written + writer.failed_rows == 2)
        nursery.cancel_scope.cancel()
    assert db.execute("SELECT tx_index FROM swaps").fetchall() == [(3,)]
    [(error,)] = db.execute("SELECT error FROM failed_writes").fetchall()
    assert error.startswith("OverflowError")


async def test_drain_writes_every_row_still_queued_when_the_writer_stopped(db):
    writer = StoreWriter(db, batch_rows=50, flush_interval_s=10, queue_size=5000)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(3000):
            writer.offer("metrics", _metric(i))
        nursery.cancel_scope.cancel()
    await writer.drain()
    assert db.execute("SELECT COUNT(*) FROM metrics").fetchone() == (3000,)
    assert writer.rows_written == 3000 and writer.queued == 0


async def test_offer_on_a_full_queue_refuses_and_counts(db):
    writer = StoreWriter(db, queue_size=2)
    assert writer.offer("metrics", _metric(1)) and writer.offer("metrics", _metric(2))
    assert not writer.offer("metrics", _metric(3))
    assert writer.rejected == 1


async def test_writing_does_not_block_the_event_loop(db):
    """While a large batch is written in the worker thread, other tasks keep running."""
    writer = StoreWriter(db, batch_rows=20_000, flush_interval_s=0.0001, queue_size=20_000)
    for i in range(20_000):
        writer.offer("metrics", _metric(i))
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await nursery.start(writer.run)
        # generous: the ticker holds the GIL between switch intervals, so the worker thread's
        # write is slow, and slower still in a slow period of a shared machine (10 s was hit)
        await _until(lambda: writer.rows_written == 20_000, timeout_s=60)
        nursery.cancel_scope.cancel()
    assert writer.batches == 1
    assert ticks > 10  # the loop turned many times during the single 20 000-row write


async def test_wait_done_returns_once_every_row_accepted_before_it_is_in_the_database(db):
    writer = StoreWriter(db, batch_rows=500, flush_interval_s=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(3):
            await writer.put("metrics", _metric(i))
        with trio.fail_after(10):
            await writer.wait_done(writer.accepted)  # what the store awaits before acking a critical topic
        assert db.execute("SELECT COUNT(*) FROM metrics").fetchone() == (3,)
        nursery.cancel_scope.cancel()


async def test_a_redelivered_execution_result_is_stored_once(db):
    from mevbot.store.rows import Meta, rows_for
    from tests.store.messages import exec_result

    meta = Meta(created_s=1.0, topic="exec.result", message_id="ab" * 16)
    writer = StoreWriter(db, batch_rows=500, flush_interval_s=0.01)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for _ in range(2):  # the same bus message twice: at-least-once delivery after a restart
            for table, row in rows_for("exec.result", exec_result(), meta):
                await writer.put(table, row)
        with trio.fail_after(10):
            await writer.wait_done(writer.accepted)
        nursery.cancel_scope.cancel()
    assert db.execute("SELECT COUNT(*) FROM execution_results").fetchone() == (1,)


async def test_execution_results_without_a_bus_message_id_are_all_kept(db):
    from mevbot.store.rows import Meta, rows_for
    from tests.store.messages import exec_result

    writer = StoreWriter(db, batch_rows=500, flush_interval_s=0.01)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for _ in range(2):  # StoreModule.ingest without an envelope: no id to deduplicate on
            for table, row in rows_for("exec.result", exec_result(), Meta(created_s=1.0, topic="exec.result")):
                await writer.put(table, row)
        with trio.fail_after(10):
            await writer.wait_done(writer.accepted)
        nursery.cancel_scope.cancel()
    assert db.execute("SELECT COUNT(*) FROM execution_results").fetchone() == (2,)
