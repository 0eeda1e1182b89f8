"""The one writer of the database: batches rows and writes them off the event loop.

Producers hand rows to a bounded trio memory channel (:meth:`StoreWriter.put` waits for room,
:meth:`StoreWriter.offer` never waits and reports a full queue). One task, :meth:`StoreWriter.run`,
owns the sqlite3 connection: it collects up to ``batch_rows`` rows or whatever arrived within
``flush_interval_s`` of the first, and writes them in one transaction inside
``trio.to_thread.run_sync`` so the event loop never waits on the disk.

Nothing is dropped silently. A batch whose write fails is logged with its tables and retried
once; if it fails again each row is tried on its own, and a row that still fails is stored in
``failed_writes`` with the error (or, if even that fails, logged in full). :meth:`drain` writes
what is still queued, for shutdown.
"""

from __future__ import annotations

import collections
import json
import logging
import sqlite3
import time
from typing import Any

import trio

from mevbot.store.rows import KEYED_TABLES, Row
from mevbot.store.schema import transaction

log = logging.getLogger("mevbot.store")

#: What a bad row can raise from sqlite3: a constraint or a missing column (sqlite3.Error), an
#: int beyond 64 bits (OverflowError), a value sqlite3 cannot bind (ProgrammingError/TypeError).
WRITE_ERRORS = (sqlite3.Error, OverflowError, TypeError, ValueError)


class StoreWriter:
    def __init__(self, db: sqlite3.Connection, *, batch_rows: int = 500, flush_interval_s: float = 0.1,
                 queue_size: int = 10_000, log: logging.Logger = log,
                 limiter: trio.CapacityLimiter | None = None) -> None:
        self.db = db
        #: Every worker-thread use of ``db`` goes through this one-slot limiter (share it with
        #: other users of the connection, e.g. retention) so transactions never interleave.
        self.limiter = limiter or trio.CapacityLimiter(1)
        self.batch_rows = batch_rows
        self.flush_interval_s = flush_interval_s
        self.log = log
        self._send, self._receive = trio.open_memory_channel[tuple[str, Row]](queue_size)
        self._pending: list[tuple[str, Row]] = []  # taken from the channel, not yet written
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}
        self.rows_written = 0
        self.batches = 0
        self.retries = 0
        self.failed_rows = 0  # rows stored in failed_writes (or logged) instead of their table
        self.rejected = 0  # offer() refused: the queue was full
        self.rows_by_table: collections.Counter[str] = collections.Counter()
        self.write_seconds = 0.0  # time spent inside the worker thread
        # rows accepted / rows done (written, or kept in failed_writes), in FIFO order: a caller
        # that notes ``accepted`` after queueing knows its rows are stored once ``done`` reaches it
        self.accepted = 0
        self.done = 0
        self._done_changed = trio.Event()

    # ---- producers ---------------------------------------------------------------------

    async def put(self, table: str, row: Row) -> None:
        """Queue a row, waiting while the queue is full (backpressure)."""
        await self._send.send((table, row))
        self.accepted += 1

    def offer(self, table: str, row: Row) -> bool:
        """Queue a row now; False (and counted) when the queue is full."""
        try:
            self._send.send_nowait((table, row))
        except trio.WouldBlock:
            self.rejected += 1
            return False
        self.accepted += 1
        return True

    async def wait_done(self, mark: int) -> None:
        """Return once the first ``mark`` rows ever accepted are in the database (written, or
        kept in failed_writes): what a consumer of a critical topic waits for before acking."""
        while self.done < mark:
            await self._done_changed.wait()

    def _batch_done(self, count: int) -> None:
        self.done += count
        self._done_changed.set()
        self._done_changed = trio.Event()

    @property
    def queued(self) -> int:
        return self._send.statistics().current_buffer_used + len(self._pending)

    # ---- the writer task ---------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Write batches until cancelled; rows in flight at cancellation stay for :meth:`drain`."""
        task_status.started()
        receive = self._receive
        pending = self._pending
        while True:
            if not pending:
                pending.append(await receive.receive())
            deadline = trio.current_time() + self.flush_interval_s
            with trio.move_on_at(deadline):
                while len(pending) < self.batch_rows:
                    try:
                        pending.append(receive.receive_nowait())
                    except trio.WouldBlock:
                        pending.append(await receive.receive())
            batch = pending[:self.batch_rows]
            await trio.to_thread.run_sync(self._write_batch, batch, limiter=self.limiter)
            del pending[:len(batch)]
            self._batch_done(len(batch))

    async def drain(self, extra: list[tuple[str, Row]] = ()) -> int:
        """Write everything taken or queued but not yet written, then ``extra``; returns how many rows.

        Call it after :meth:`run` was cancelled (inside a shielded cleanup): the batch being
        written when the cancellation came has finished (worker threads are not abandoned), so
        what is left in ``_pending`` and the channel is exactly what is not yet stored.
        """
        pending = self._pending
        while True:
            try:
                pending.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
        pending.extend(extra)
        self.accepted += len(extra)
        count = len(pending)
        while pending:
            batch = pending[:self.batch_rows]
            await trio.to_thread.run_sync(self._write_batch, batch, limiter=self.limiter)
            del pending[:len(batch)]
            self._batch_done(len(batch))
        return count

    # ---- in the worker thread ----------------------------------------------------------

    def _insert_sql(self, table: str, columns: tuple[str, ...]) -> str:
        key = (table, columns)
        sql = self._sql.get(key)
        if sql is None:
            verb = "INSERT OR IGNORE" if table in KEYED_TABLES else "INSERT"
            sql = self._sql[key] = (f"{verb} INTO {table} ({', '.join(columns)}) "
                                    f"VALUES ({', '.join('?' * len(columns))})")
        return sql

    def _insert(self, rows: list[tuple[str, Row]]) -> None:
        """One transaction; consecutive rows of one table and shape go in one executemany."""
        db = self.db
        with transaction(db):
            start = 0
            while start < len(rows):
                table, first = rows[start]
                columns = tuple(first)
                end = start + 1
                while end < len(rows) and rows[end][0] == table and tuple(rows[end][1]) == columns:
                    end += 1
                db.executemany(self._insert_sql(table, columns),
                               [tuple(row.values()) for _, row in rows[start:end]])
                start = end

    def _write_batch(self, rows: list[tuple[str, Row]]) -> None:
        started = time.perf_counter()
        try:
            try:
                self._insert(rows)
            except WRITE_ERRORS as exc:
                tables = sorted({t for t, _ in rows})
                self.log.warning("store: writing a batch of %d rows (tables %s) failed: %s; retrying once",
                                 len(rows), ", ".join(tables), exc)
                self.retries += 1
                try:
                    self._insert(rows)
                except WRITE_ERRORS:
                    self._write_one_by_one(rows)
                    return
            self._count(rows)
        finally:
            self.batches += 1
            self.write_seconds += time.perf_counter() - started

    def _count(self, rows: list[tuple[str, Row]]) -> None:
        self.rows_written += len(rows)
        for table, _ in rows:
            self.rows_by_table[table] += 1

    def _write_one_by_one(self, rows: list[tuple[str, Row]]) -> None:
        """After a retry failed: store each good row, dead-letter each bad one with its error."""
        for table, row in rows:
            try:
                self._insert([(table, row)])
            except WRITE_ERRORS as exc:
                self._dead_letter(table, row, exc)
            else:
                self._count([(table, row)])

    def _dead_letter(self, table: str, row: Row, exc: Exception) -> None:
        self.failed_rows += 1
        text = json.dumps(row, default=str, separators=(",", ":"))
        error = f"{type(exc).__name__}: {exc}"
        try:
            with transaction(self.db):
                self.db.execute("INSERT INTO failed_writes (ts, table_name, error, row) VALUES (?, ?, ?, ?)",
                                (time.time(), table, error, text))
        except sqlite3.Error as again:
            self.log.error("store: row for %s could not be written (%s) nor kept in failed_writes (%s): %s",
                           table, error, again, text)
            return
        self.log.error("store: row for %s could not be written (%s); kept in failed_writes", table, error)

    def stats(self) -> dict[str, Any]:
        return {"rows_written": self.rows_written, "batches": self.batches, "retries": self.retries,
                "failed_rows": self.failed_rows, "rejected": self.rejected, "queued": self.queued,
                "rows_by_table": dict(self.rows_by_table),
                "rows_per_s": self.rows_written / self.write_seconds if self.write_seconds else None}
