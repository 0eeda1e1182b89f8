"""The critical-topic journal: SQLite in WAL mode, written before a publish returns.

Sender side: every critical message is stored (``outbox``) with one ``pending`` row per peer
process expected to receive it; a peer's ``Ack`` deletes its rows, and after a restart or a
reconnect every pending row is sent again, oldest first. Receiver side: ``seen`` holds the ids
handled here (written just before their Ack: mevbot/bus/handover.py), so a redelivered message
is acknowledged again but never surfaces twice, while one received and never handled (this
process died first) is not in it and surfaces again after the restart.
The last known subscription patterns of each peer are kept too, so messages published while a
peer is down (even across our own restart) are kept for it, and so are the dead letters
(``dead_letters``: mevbot/bus/deadletter.py), so that a restart does not lose them.

``synchronous=NORMAL`` with WAL survives a process crash (the case we redeliver for); a power
loss may lose the last transactions. Calls are synchronous and short (no fsync per commit).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

from mevbot.bus.errors import JournalError

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, topic TEXT NOT NULL, frame BLOB NOT NULL,
                                   created_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, dest TEXT NOT NULL,
                                    id TEXT NOT NULL, UNIQUE (dest, id));
CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, seen_ns INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS interest (dest TEXT PRIMARY KEY, patterns TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dead_letters (seq INTEGER PRIMARY KEY, reason TEXT NOT NULL,
                                         dead_ns INTEGER NOT NULL, origin TEXT NOT NULL,
                                         is_envelope INTEGER NOT NULL, data BLOB);
"""


def _key(message_id: int) -> str:
    return f"{message_id:032x}"


class Journal:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            if path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the bus journal {path!r}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def _write(self, sql_batches) -> None:
        try:
            with self.db:
                self.db.execute("BEGIN")
                for sql, rows in sql_batches:
                    self.db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise JournalError(f"bus journal {self.path!r}: write failed: {exc}") from None

    def record(self, message_id: int, topic: str, frame: bytes, created_ns: int,
               dests: list[str]) -> None:
        key = _key(message_id)
        self._write([
            ("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?)", [(key, topic, frame, created_ns)]),
            ("INSERT OR IGNORE INTO pending (dest, id) VALUES (?, ?)", [(d, key) for d in dests]),
        ])

    def add_pending(self, message_id: int, dests: list[str]) -> None:
        self._write([("INSERT OR IGNORE INTO pending (dest, id) VALUES (?, ?)",
                      [(d, _key(message_id)) for d in dests])])

    def ack(self, dest: str, ids: list[int]) -> None:
        keys = [(dest, _key(i)) for i in ids]
        self._write([
            ("DELETE FROM pending WHERE dest = ? AND id = ?", keys),
            ("DELETE FROM outbox WHERE id = ? AND NOT EXISTS (SELECT 1 FROM pending WHERE id = outbox.id)",
             [(k,) for _, k in keys]),
        ])

    def pending(self, dest: str) -> list[bytes]:
        rows = self.db.execute(
            "SELECT o.frame FROM pending p JOIN outbox o ON o.id = p.id WHERE p.dest = ? "
            "ORDER BY p.seq", (dest,)).fetchall()
        return [r[0] for r in rows]

    def pending_count(self, dest: str | None = None) -> int:
        if dest is None:
            return self.db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM pending WHERE dest = ?", (dest,)).fetchone()[0]

    def seen(self, message_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM seen WHERE id = ?", (_key(message_id),)).fetchone() is not None

    def mark_seen(self, ids: list[int]) -> None:
        now = time.time_ns()
        self._write([("INSERT OR IGNORE INTO seen VALUES (?, ?)", [(_key(i), now) for i in ids])])

    def prune_seen(self, older_than_ns: int) -> int:
        cur = self.db.execute("DELETE FROM seen WHERE seen_ns < ?", (older_than_ns,))
        return cur.rowcount

    def save_interest(self, dest: str, patterns: list[str]) -> None:
        self._write([("INSERT OR REPLACE INTO interest VALUES (?, ?)", [(dest, json.dumps(patterns))])])

    def interest(self) -> dict[str, list[str]]:
        return {d: json.loads(p) for d, p in self.db.execute("SELECT dest, patterns FROM interest")}

    # ---- dead letters (mevbot/bus/deadletter.py) ------------------------------------------
    def save_dead_letters(self, rows: list[tuple], evicted_through: int = 0) -> None:
        """Store letters (seq, reason, dead_ns, origin, is_envelope, data) and drop every letter
        up to ``evicted_through`` (the queue's bound pushed them out), in one transaction."""
        self._write([("INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)", rows),
                     ("DELETE FROM dead_letters WHERE seq <= ?", [(evicted_through,)] if evicted_through else [])])

    def delete_dead_letters(self, seqs: list[int] | None) -> None:
        if seqs is None:
            self._write([("DELETE FROM dead_letters", [()])])
        else:
            self._write([("DELETE FROM dead_letters WHERE seq = ?", [(s,) for s in seqs])])

    def dead_letters(self, limit: int) -> list[tuple]:
        """The newest ``limit`` letters, oldest first."""
        rows = self.db.execute("SELECT seq, reason, dead_ns, origin, is_envelope, data FROM dead_letters "
                               "ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return rows[::-1]
