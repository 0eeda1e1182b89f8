"""The store's SQLite schema and its versioned migrations.

``schema_version`` holds one row: the number of the last migration applied. Migrations are
ordered functions, each applied in its own transaction together with the version bump, so a
crash mid-upgrade leaves the database at the previous version, never half-way. Opening a
database (:func:`open_database`) upgrades it to :data:`CURRENT_VERSION`; a database written by
newer code is refused rather than guessed at.

Conventions of every event table: ``ts`` is the unix time (seconds, float) the message was
created, which retention and ``--since`` filter on; ``payload`` is the message's full JSON so an
export has everything even where no column was made for a field; ``message_id``/``trace_id``
come from the bus envelope. Amounts are TEXT holding decimal integers, because wei amounts do
not fit SQLite's 64-bit INTEGER. No table has a column for key material: the store never holds
a private key.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from mevbot.store.errors import MigrationError, StoreError

_EVENT = "id INTEGER PRIMARY KEY, ts REAL NOT NULL, topic TEXT, message_id TEXT, trace_id TEXT, source TEXT"


def _v1_tables(db: sqlite3.Connection) -> None:
    """The first schema: reference data, every pipeline stage, and periodic metrics."""
    statements = [
        "CREATE TABLE tokens (address TEXT PRIMARY KEY, symbol TEXT, decimals INTEGER,"
        " first_seen REAL NOT NULL, ts REAL NOT NULL, payload TEXT)",
        "CREATE TABLE pools (address TEXT PRIMARY KEY, kind TEXT, dex TEXT, token0 TEXT, token1 TEXT,"
        " fee_pips INTEGER, tick_spacing INTEGER, factory TEXT, first_seen REAL NOT NULL,"
        " ts REAL NOT NULL, payload TEXT)",
        f"CREATE TABLE pool_states ({_EVENT}, pool TEXT, kind TEXT, block_number INTEGER,"
        " log_index INTEGER, tx_hash TEXT, removed INTEGER, reserve0 TEXT, reserve1 TEXT,"
        " sqrt_price_x96 TEXT, liquidity TEXT, tick INTEGER, payload TEXT)",
        f"CREATE TABLE feed_messages ({_EVENT}, sequence_number INTEGER, block_number INTEGER,"
        " timestamp INTEGER, block_hash TEXT, tx_count INTEGER, payload TEXT)",
        f"CREATE TABLE swaps ({_EVENT}, tx_hash TEXT, action_index INTEGER, dex TEXT, router TEXT,"
        " method TEXT, token_in TEXT, token_out TEXT, amount_in TEXT, amount_out TEXT,"
        " seq INTEGER, tx_index INTEGER, payload TEXT)",
        f"CREATE TABLE opportunities ({_EVENT}, cycle_key TEXT, start_token TEXT, amount_in TEXT,"
        " gross_profit TEXT, net_profit TEXT, net_profit_wei TEXT, block_number INTEGER,"
        " seq INTEGER, tx_index INTEGER, trigger_tx TEXT, payload TEXT)",
        f"CREATE TABLE risk_decisions ({_EVENT}, cycle_key TEXT, approved INTEGER, rule TEXT,"
        " reason TEXT, seq INTEGER, tx_index INTEGER, payload TEXT)",
        f"CREATE TABLE executions ({_EVENT}, request_id TEXT, cycle_key TEXT, expected_profit TEXT,"
        " seq INTEGER, tx_index INTEGER, payload TEXT)",
        f"CREATE TABLE execution_results ({_EVENT}, request_id TEXT, cycle_key TEXT, status TEXT,"
        " reason TEXT, expected_profit TEXT, realised_profit TEXT, tx_hash TEXT, gas_used INTEGER,"
        " gas_cost_wei TEXT, block_number INTEGER, payload TEXT)",
        "CREATE TABLE metrics (id INTEGER PRIMARY KEY, ts REAL NOT NULL, name TEXT NOT NULL,"
        " labels TEXT, value REAL)",
    ]
    for sql in statements:
        db.execute(sql)


def _v2_failed_writes_and_indexes(db: sqlite3.Connection) -> None:
    """Rows the writer could not store (never dropped silently), and time indexes for retention."""
    db.execute("CREATE TABLE failed_writes (id INTEGER PRIMARY KEY, ts REAL NOT NULL,"
               " table_name TEXT NOT NULL, error TEXT NOT NULL, row TEXT NOT NULL)")
    for table in ("pool_states", "feed_messages", "swaps", "opportunities", "risk_decisions",
                  "executions", "execution_results", "metrics", "failed_writes"):
        db.execute(f"CREATE INDEX {table}_ts ON {table} (ts)")
    db.execute("CREATE INDEX pool_states_pool ON pool_states (pool, block_number)")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN ... COMMIT, or ROLLBACK on any error (the connection is in autocommit mode)."""
    db.execute("BEGIN")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _v3_breaker_trips(db: sqlite3.Connection) -> None:
    """Circuit-breaker trips (``risk.breaker``), for the audit trail next to the decisions."""
    db.execute(f"CREATE TABLE breaker_trips ({_EVENT}, reason TEXT, tripped_at REAL, resume_at REAL, payload TEXT)")
    db.execute("CREATE INDEX breaker_trips_ts ON breaker_trips (ts)")


#: Event tables that carry a bus trace id (what `mevbot trace` reads).
TRACED_TABLES = ("feed_messages", "swaps", "pool_states", "state_changes", "opportunities", "risk_decisions",
                 "executions", "execution_results", "breaker_trips")


def _v4_state_changes_and_trace_indexes(db: sqlite3.Connection) -> None:
    """The pipeline's hop (``pools.state``: which pools an intent or update moved) and an index on
    ``trace_id`` in every traced table, so `mevbot trace` finds an event's hops without a scan."""
    db.execute(f"CREATE TABLE state_changes ({_EVENT}, cause TEXT, block_number INTEGER, seq INTEGER,"
               " tx_index INTEGER, trigger_tx TEXT, pools TEXT, payload TEXT)")
    db.execute("CREATE INDEX state_changes_ts ON state_changes (ts)")
    for table in TRACED_TABLES:
        db.execute(f"CREATE INDEX {table}_trace ON {table} (trace_id)")
    db.execute("CREATE INDEX swaps_tx_hash ON swaps (tx_hash)")
    db.execute("CREATE INDEX execution_results_tx_hash ON execution_results (tx_hash)")


def _v5_pool_states_tx_index(db: sqlite3.Connection) -> None:
    """`mevbot trace TXHASH` also finds the log updates a transaction caused."""
    db.execute("CREATE INDEX pool_states_tx_hash ON pool_states (tx_hash)")


def _v6_execution_results_once_per_message(db: sqlite3.Connection) -> None:
    """``exec.result`` is critical: delivered at least once, so a result redelivered after the
    store was killed between its commit and its acknowledgement is the same message again. One
    row per bus message id (earlier duplicates, if any, collapse to the first)."""
    has_id = "message_id IS NOT NULL AND message_id != ''"  # rows ingested without a bus envelope have none
    db.execute(f"DELETE FROM execution_results WHERE {has_id} AND id NOT IN "
               f"(SELECT MIN(id) FROM execution_results WHERE {has_id} GROUP BY message_id)")
    db.execute(f"CREATE UNIQUE INDEX execution_results_message ON execution_results (message_id) WHERE {has_id}")


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _v1_tables,
    _v2_failed_writes_and_indexes,
    _v3_breaker_trips,
    _v4_state_changes_and_trace_indexes,
    _v5_pool_states_tx_index,
    _v6_execution_results_once_per_message,
)
CURRENT_VERSION = len(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    """The version recorded in the database; 0 for an empty database."""
    found = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if found is None:
        return 0
    row = db.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection, target: int = CURRENT_VERSION) -> int:
    """Apply the migrations after the database's version up to ``target``; returns the new version."""
    version = schema_version(db)
    if version > CURRENT_VERSION:
        raise MigrationError(f"database schema is version {version}, newer than this code's "
                             f"{CURRENT_VERSION}; upgrade mevbot to open it")
    if version == 0:
        with transaction(db):
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            db.execute("INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)")
    for number in range(version + 1, target + 1):
        migration = MIGRATIONS[number - 1]
        try:
            with transaction(db):  # one transaction: the migration and the version bump land together
                migration(db)
                db.execute("UPDATE schema_version SET version = ?", (number,))
        except sqlite3.Error as exc:
            raise MigrationError(f"migration {number} ({migration.__name__}) failed: {exc}") from exc
    return max(version, target)


def open_database(path: str | Path, *, target: int = CURRENT_VERSION) -> sqlite3.Connection:
    """Open (creating) the database at ``path`` in WAL mode, migrated to ``target``.

    ``check_same_thread=False`` because the writer runs its batches in trio's worker threads;
    only one thread uses the connection at a time (the writer task awaits each batch).
    """
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: autocommit; transactions are explicit (:func:`transaction`).
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints, fast commits
        db.execute("PRAGMA busy_timeout=5000")  # readers (`mevbot db`) may hold the file briefly
        migrate(db, target)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StoreError(f"cannot open the store database {path}: {exc}; expected a SQLite file "
                         "written by mevbot (or no file, to create one)") from exc
    except BaseException:
        db.close()
        raise
    return db


def table_names(db: sqlite3.Connection) -> list[str]:
    """The store's data tables (not sqlite's own, not schema_version), sorted."""
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                      " AND name != 'schema_version' ORDER BY name").fetchall()
    return [r[0] for r in rows]
