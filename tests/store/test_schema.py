"""The schema: WAL mode, ordered migrations each in a transaction, no column for key material."""

from __future__ import annotations

import sqlite3

import pytest

from mevbot.store.errors import MigrationError
from mevbot.store.schema import CURRENT_VERSION, open_database, schema_version, table_names

TABLES = {"tokens", "pools", "pool_states", "feed_messages", "swaps", "opportunities", "risk_decisions",
          "executions", "execution_results", "metrics", "failed_writes", "breaker_trips", "state_changes"}


def test_a_new_database_is_in_wal_mode_at_the_current_version_with_every_table(tmp_path):
    db = open_database(tmp_path / "sub" / "store.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == CURRENT_VERSION >= 2
    assert set(table_names(db)) == TABLES


def test_opening_a_v1_database_upgrades_it_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    old = open_database(path, target=1)
    assert schema_version(old) == 1 and "failed_writes" not in table_names(old)
    old.execute("INSERT INTO swaps (ts, tx_hash, payload) VALUES (1.0, '0xabc', '{}')")
    old.close()

    db = open_database(path)
    assert schema_version(db) == CURRENT_VERSION
    assert "failed_writes" in table_names(db)
    assert db.execute("SELECT tx_hash FROM swaps").fetchall() == [("0xabc",)]
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "swaps_ts" in indexes


def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path):
    path = tmp_path / "half.sqlite"
    db = open_database(path, target=1)
    db.execute("CREATE TABLE failed_writes (x)")  # migration 2 will collide with this
    db.close()
    with pytest.raises(MigrationError, match="migration 2"):
        open_database(path)
    raw = sqlite3.connect(path)
    assert schema_version(raw) == 1
    assert not raw.execute("SELECT name FROM sqlite_master WHERE name='swaps_ts'").fetchall()


def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    open_database(path).execute("UPDATE schema_version SET version = 999")
    with pytest.raises(MigrationError, match="version 999, newer than"):
        open_database(path)


def test_no_table_has_a_column_for_key_material(tmp_path):
    db = open_database(tmp_path / "s.sqlite")
    for table in table_names(db):
        for column in db.execute(f"PRAGMA table_info({table})"):
            name = column[1]
            assert not any(word in name for word in ("private", "secret", "mnemonic", "seed")), (table, name)
            assert not (name.endswith("key") and name != "cycle_key"), (table, name)


def test_a_file_that_is_not_a_database_is_a_store_error_naming_it(tmp_path):
    from mevbot.store.errors import StoreError

    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are not the pages you are looking for" * 100)
    with pytest.raises(StoreError, match="notes.sqlite.*expected a SQLite file"):
        open_database(path)
