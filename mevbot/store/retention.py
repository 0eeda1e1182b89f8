"""Which rows are old enough to delete, per table (blocking sqlite calls; run in a worker thread).

Reference tables (tokens, pools) are kept: they are small and a pool seen once stays a pool.
Raw feed messages are the bulk of the database and have their own, usually shorter, horizon.
"""

from __future__ import annotations

import sqlite3

from mevbot.store.schema import transaction

#: Tables whose rows age out; each has an indexed ``ts`` column.
EVENT_TABLES = ("pool_states", "feed_messages", "swaps", "opportunities", "risk_decisions",
                "executions", "execution_results", "metrics", "failed_writes", "breaker_trips", "state_changes")


def retention_cutoffs(now_s: float, *, retention_days: int, raw_feed_retention_days: int) -> dict[str, float]:
    """Per table, the time before which rows are deleted (pure)."""
    cutoffs = {table: now_s - retention_days * 86400.0 for table in EVENT_TABLES}
    cutoffs["feed_messages"] = now_s - raw_feed_retention_days * 86400.0
    return cutoffs


def delete_expired(db: sqlite3.Connection, cutoffs: dict[str, float]) -> dict[str, int]:
    """Delete rows older than each table's cutoff, one transaction; returns rows deleted per table."""
    deleted = {}
    with transaction(db):
        for table, cutoff in cutoffs.items():
            deleted[table] = db.execute(f"DELETE FROM {table} WHERE ts < ?", (cutoff,)).rowcount
    return deleted
