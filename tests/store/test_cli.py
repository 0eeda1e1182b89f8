"""`mevbot db stats` and `mevbot db export` as real subprocesses on a real store file."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mevbot.store.rows import Meta, rows_for
from mevbot.store.schema import CURRENT_VERSION, open_database
from tests.store import messages as m

ROOT = Path(__file__).resolve().parents[2]
NOW = time.time()


def _mevbot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "mevbot", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    """A config naming a store with three decisions (10 days, 2 days and 1 hour old) and a swap."""
    where = tmp_path_factory.mktemp("db")
    (where / "config.toml").write_text('[store]\npath = "data/store.sqlite"\n')
    db = open_database(where / "data" / "store.sqlite")
    from mevbot.store.writer import StoreWriter

    writer = StoreWriter(db)
    batch = []
    for age_s, topic, message in [(10 * 86400, "risk.decision", m.decision()), (2 * 86400, "risk.decision", m.decision()),
                                  (3600, "risk.decision", m.decision()), (60, "market.swap.intent", m.swap_intent())]:
        batch += rows_for(topic, message, Meta(created_s=NOW - age_s, topic=topic))
    writer._write_batch(batch)  # no event loop needed to lay out a fixture
    db.close()
    return where


def test_stats_lists_row_counts_time_range_size_and_version(store_dir):
    result = _mevbot("db", "stats", "--config", "config.toml", "--json", cwd=store_dir)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["schema_version"] == CURRENT_VERSION and stats["size_bytes"] > 0
    assert stats["tables"]["risk_decisions"]["rows"] == 3 and stats["tables"]["swaps"]["rows"] == 1
    assert stats["tables"]["risk_decisions"]["first"] < stats["tables"]["risk_decisions"]["last"]
    table = _mevbot("db", "stats", "--config", "config.toml", cwd=store_dir)
    assert table.returncode == 0 and "risk_decisions" in table.stdout and f"version {CURRENT_VERSION}" in table.stdout


def test_export_csv_since_an_iso_time_keeps_only_newer_rows(store_dir):
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - 3 * 86400))
    result = _mevbot("db", "export", "-c", "config.toml", "--table", "risk_decisions", "--since", since,
                     "--format", "csv", cwd=store_dir)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 2 and all(r["rule"] == "max_trade" for r in rows)
    assert "exported 2 rows" in result.stderr


def test_export_jsonl_to_a_file_since_unix_seconds_embeds_the_payload(store_dir, tmp_path):
    out = tmp_path / "swaps.jsonl"
    result = _mevbot("db", "export", "-c", "config.toml", "-t", "swaps", "--since", str(int(NOW - 600)),
                     "-f", "jsonl", "--out", str(out), cwd=store_dir)
    assert result.returncode == 0, result.stderr
    [line] = out.read_text().splitlines()
    record = json.loads(line)
    assert record["amount_in"] == str(m.BIG) and record["payload"]["amount_in"] == m.BIG


def test_export_of_an_unknown_table_exits_2_listing_the_tables(store_dir):
    result = _mevbot("db", "export", "-c", "config.toml", "--table", "trades", cwd=store_dir)
    assert result.returncode == 2
    assert "no table 'trades'" in result.stderr and "risk_decisions" in result.stderr and "swaps" in result.stderr


def test_export_with_an_unreadable_time_exits_2_saying_what_it_expects(store_dir):
    result = _mevbot("db", "export", "-c", "config.toml", "-t", "swaps", "--since", "yesterday", cwd=store_dir)
    assert result.returncode == 2 and "neither unix seconds nor ISO-8601" in result.stderr


def test_a_missing_database_exits_1_naming_the_path(tmp_path):
    (tmp_path / "config.toml").write_text('[store]\npath = "nowhere/store.sqlite"\n')
    result = _mevbot("db", "stats", "-c", "config.toml", cwd=tmp_path)
    assert result.returncode == 1 and "nowhere/store.sqlite" in result.stderr
    assert not (tmp_path / "nowhere").exists()  # looking does not create it


def test_stats_reads_a_database_the_running_store_holds_open(tmp_path):
    (tmp_path / "config.toml").write_text('[store]\npath = "live.sqlite"\n')
    live = open_database(tmp_path / "live.sqlite")
    live.execute("INSERT INTO metrics (ts, name, labels, value) VALUES (1.0, 'x', '{}', 2.0)")
    try:
        result = _mevbot("db", "stats", "-c", "config.toml", "--json", cwd=tmp_path)
    finally:
        live.close()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"]["metrics"]["rows"] == 1


def test_a_file_that_is_not_a_database_exits_1_saying_so(tmp_path):
    (tmp_path / "config.toml").write_text('[store]\npath = "junk.sqlite"\n')
    (tmp_path / "junk.sqlite").write_bytes(b"junk" * 1000)
    result = _mevbot("db", "stats", "-c", "config.toml", cwd=tmp_path)
    assert result.returncode == 1 and "cannot read junk.sqlite" in result.stderr
