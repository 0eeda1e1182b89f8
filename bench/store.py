"""Store benchmark: rows per second through the batching writer, and message -> row cost.

Run from the repository root: ``.venv/bin/python bench/store.py``. It prints a table and
writes ``bench/results/store.json`` and ``bench/results/store.md``.

Each writer row queues N rows with ``StoreWriter.put`` from a trio task and waits until all are
in the WAL-mode file (a fresh temporary database per row), so the figure includes the memory
channel, batching, the worker-thread hop and the SQLite commit. The peer is the naive design
the writer replaces: one INSERT and one commit per row on the same kind of file. The last rows
time ``rows_for`` (message -> row dict with its JSON payload) per message type.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import trio  # noqa: E402

from mevbot.store.rows import Meta, rows_for  # noqa: E402
from mevbot.store.schema import open_database, transaction  # noqa: E402
from mevbot.store.writer import StoreWriter  # noqa: E402
from tests.store import messages as m  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
META = Meta(created_s=time.time(), topic="bench", message_id="ab" * 16, trace_id="cd" * 16, source="bench")


def sample_rows(topic: str, message, n: int) -> list[tuple[str, dict]]:
    [(table, row)] = rows_for(topic, message, META)
    return [(table, dict(row)) for _ in range(n)]


async def _through_writer(rows: list[tuple[str, dict]], batch_rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(os.path.join(tmp, "b.sqlite"))
        writer = StoreWriter(db, batch_rows=batch_rows, flush_interval_s=0.1, queue_size=10_000)
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            for table, row in rows:
                await writer.put(table, row)
            while writer.rows_written < len(rows):
                await trio.sleep(0.001)
            nursery.cancel_scope.cancel()
        elapsed = time.perf_counter() - started
        db.close()
    return len(rows) / elapsed


def _row_by_row(rows: list[tuple[str, dict]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(os.path.join(tmp, "b.sqlite"))
        table, first = rows[0]
        sql = f"INSERT INTO {table} ({', '.join(first)}) VALUES ({', '.join('?' * len(first))})"
        started = time.perf_counter()
        for _, row in rows:
            with transaction(db):
                db.execute(sql, tuple(row.values()))
        elapsed = time.perf_counter() - started
        db.close()
    return len(rows) / elapsed


def _rows_for_us(topic: str, message, repeat: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        rows_for(topic, message, META)
    return (time.perf_counter() - started) / repeat * 1e6


def main() -> None:
    results = []
    cases = [("swaps (SwapIntent)", "market.swap.intent", m.swap_intent()),
             ("pool_states (PoolUpdate)", "market.pool.update", m.pool_state()),
             ("opportunities (ArbitrageOpportunity)", "arb.opportunity", m.opportunity())]
    n = 20_000
    for name, topic, message in cases:
        rows = sample_rows(topic, message, n)
        naive = _row_by_row(rows[:2000])
        for batch in (50, 500):
            rate = trio.run(_through_writer, rows, batch)
            results.append({"case": f"writer {name}", "batch_rows": batch, "rows": n,
                            "rows_per_s": round(rate), "peer_row_by_row_per_s": round(naive)})
    for name, topic, message in cases + [("feed_messages (FeedBlock, 1 tx)", "feed.block", m.feed_block()),
                                         ("execution_results (ExecutionResult)", "exec.result", m.exec_result())]:
        results.append({"case": f"rows_for {name}", "us_per_message": round(_rows_for_us(topic, message), 2)})

    print(f"{'case':<52} {'batch':>6} {'rows/s':>10} {'row-by-row/s':>13} {'µs/msg':>8}")
    for r in results:
        print(f"{r['case']:<52} {r.get('batch_rows', '-')!s:>6} {r.get('rows_per_s', '-')!s:>10} "
              f"{r.get('peer_row_by_row_per_s', '-')!s:>13} {r.get('us_per_message', '-')!s:>8}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    with open(os.path.join(HERE, "results", "store.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
    lines = ["# Store benchmark", "",
             "`.venv/bin/python bench/store.py` — rows/s through `StoreWriter` (channel, batching, worker "
             "thread, WAL commit) vs one INSERT+commit per row; and message -> row conversion cost.", "",
             "| case | batch_rows | rows/s | row-by-row rows/s | µs per message |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['case']} | {r.get('batch_rows', '-')} | {r.get('rows_per_s', '-')} | "
                     f"{r.get('peer_row_by_row_per_s', '-')} | {r.get('us_per_message', '-')} |")
    with open(os.path.join(HERE, "results", "store.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
