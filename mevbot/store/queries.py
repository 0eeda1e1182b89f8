"""Reading the store for `mevbot db`: per-table statistics and exports (blocking; CLI only).

Exports stream rows (a cursor, not a list) so a large table does not have to fit in memory.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mevbot.store.errors import TimeParseError, UnknownTableError
from mevbot.store.schema import schema_version, table_names

_UNIX = re.compile(r"^\d+(\.\d+)?$")


def parse_time(text: str) -> float:
    """Unix seconds from ``text``: unix seconds, or ISO-8601 (a time without zone is UTC)."""
    text = text.strip()
    if _UNIX.match(text):
        return float(text)
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimeParseError(f"time {text!r} is neither unix seconds nor ISO-8601; expected e.g. "
                             "1764000000 or 2026-11-25T06:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds")


def db_stats(db: sqlite3.Connection, path: Path) -> dict[str, Any]:
    """Row counts and time range per table, schema version and file size (database + WAL)."""
    tables = {}
    for table in table_names(db):
        count, first, last = db.execute(f"SELECT COUNT(*), MIN(ts), MAX(ts) FROM {table}").fetchone()
        tables[table] = {"rows": count, "first": _iso(first), "last": _iso(last)}
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return {"path": str(path), "schema_version": schema_version(db), "size_bytes": size, "tables": tables}


def export_rows(db: sqlite3.Connection, table: str, *, since: float | None = None) -> tuple[list[str], Iterator[tuple]]:
    """The column names and a row iterator of ``table`` (rows with ``ts >= since``), oldest first."""
    known = table_names(db)
    if table not in known:
        raise UnknownTableError(table, known)
    where, params = ("WHERE ts >= ?", (since,)) if since is not None else ("", ())
    cursor = db.execute(f"SELECT * FROM {table} {where} ORDER BY ts, rowid", params)
    columns = [d[0] for d in cursor.description]
    return columns, iter(cursor)


def write_csv(out: IO[str], columns: list[str], rows: Iterator[tuple]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_jsonl(out: IO[str], columns: list[str], rows: Iterator[tuple]) -> int:
    """One JSON object per line; the ``payload`` column is embedded as JSON, not as a string."""
    count = 0
    for row in rows:
        record = dict(zip(columns, row))
        payload = record.get("payload")
        if isinstance(payload, str):
            try:
                record["payload"] = json.loads(payload)
            except ValueError:
                pass
        out.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        count += 1
    return count
