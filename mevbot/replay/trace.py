"""An event's path through the modules, from the store: `mevbot trace SEQ_OR_TXHASH`. Blocking sqlite.

The monitor starts a trace at every feed block with trace id = the block's sequence number, and
every message handled because of it inherits that id (the envelope's ``trace_id``; the store
keeps it as 32 hex digits in every event table). So a sequence number names a trace directly,
and a transaction hash names the trace of the feed block that carried it (``swaps``), the
traces of the log updates it caused once mined (``pool_states``: the monitor's log batches
start traces of their own), and that of the opportunity our own transaction executed
(``execution_results``).

Each stored message is one hop: its table, topic, the module that published it and its
creation time (``ts``, unix seconds). Hops are ordered by time, ties by pipeline stage.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import attrs

from mevbot.replay.errors import TraceError

#: Pipeline order of the traced tables: breaks ties between hops stamped in the same instant.
STAGES = ("feed_messages", "swaps", "pool_states", "state_changes", "opportunities", "risk_decisions",
          "breaker_trips", "executions", "execution_results")

#: Per table, the columns that say what happened at that hop.
DETAIL_COLUMNS = {
    "feed_messages": ("sequence_number", "block_number", "tx_count"),
    "swaps": ("tx_hash", "action_index", "dex", "method", "token_in", "token_out", "amount_in", "tx_index"),
    "pool_states": ("pool", "kind", "block_number", "log_index"),
    "state_changes": ("cause", "seq", "tx_index", "pools"),
    "opportunities": ("cycle_key", "amount_in", "net_profit", "net_profit_wei", "seq", "tx_index"),
    "risk_decisions": ("cycle_key", "approved", "rule", "reason"),
    "breaker_trips": ("reason",),
    "executions": ("request_id", "cycle_key", "expected_profit"),
    "execution_results": ("request_id", "status", "reason", "tx_hash", "realised_profit"),
}

_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


@attrs.frozen
class Hop:
    ts: float
    table: str
    topic: str
    source: str
    details: dict[str, Any]

    def to_json(self, first_ts: float) -> dict[str, Any]:
        return {"ts": self.ts, "since_first_ms": round((self.ts - first_ts) * 1000, 3), "table": self.table,
                "topic": self.topic, "source": self.source, "details": self.details}


@attrs.frozen
class Trace:
    trace_id: str  # 32 hex digits, as stored
    query: str
    hops: tuple[Hop, ...]


def trace_ids_for(db: sqlite3.Connection, query: str) -> list[str]:
    """The stored trace ids ``query`` names (a sequence number, or a 0x transaction hash)."""
    text = query.strip()
    if text.isdigit():
        return [f"{int(text):032x}"]
    if _TX_HASH.match(text):
        found: list[str] = []
        for table in ("swaps", "pool_states", "execution_results"):
            rows = db.execute(f"SELECT DISTINCT trace_id FROM {table} WHERE lower(tx_hash) = ? ORDER BY ts",
                              (text.lower(),)).fetchall()
            found.extend(r[0] for r in rows if r[0] and r[0] not in found)
        return found
    raise TraceError(f"{query!r} is neither a feed sequence number (digits) nor a transaction hash "
                     "(0x and 64 hex digits)")


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def read_trace(db: sqlite3.Connection, trace_id: str, query: str = "") -> Trace:
    """Every stored hop of ``trace_id``, in order."""
    present = _tables(db)
    hops: list[Hop] = []
    for rank, table in enumerate(STAGES):
        if table not in present:  # an older schema (before migration 4 has no state_changes)
            continue
        columns = DETAIL_COLUMNS[table]
        cursor = db.execute(f"SELECT ts, topic, source, {', '.join(columns)} FROM {table} WHERE trace_id = ?"
                            " ORDER BY ts, id", (trace_id,))
        for row in cursor:
            details = dict(zip(columns, row[3:]))
            if table == "state_changes" and isinstance(details.get("pools"), str):
                details["pools"] = json.loads(details["pools"])
            if table == "risk_decisions":
                details["approved"] = bool(details["approved"])
            hops.append((row[0], rank, Hop(row[0], table, row[1] or "", row[2] or "", details)))
        if table == "execution_results":
            hops.extend(_send_hops(db, trace_id, rank))
    hops.sort(key=lambda item: (item[0], item[1]))
    return Trace(trace_id, query, tuple(hop for _, _, hop in hops))


def _send_hops(db: sqlite3.Connection, trace_id: str, rank: int) -> list[tuple[float, int, Hop]]:
    """``signed`` and ``sent`` moments inside execution, when the result carries them
    (``signed_ns`` / ``sent_ns`` of a live send; a dry run has neither)."""
    found = []
    for request_id, payload in db.execute("SELECT request_id, payload FROM execution_results WHERE trace_id = ?",
                                          (trace_id,)):
        try:
            data = json.loads(payload) if payload else {}
        except ValueError:
            continue
        for stage in ("signed", "sent"):
            at_ns = data.get(f"{stage}_ns") if isinstance(data, dict) else None
            if isinstance(at_ns, int):
                ts = at_ns / 1e9
                found.append((ts, rank, Hop(ts, "execution_results", f"exec.{stage}", "execution",
                                            {"request_id": request_id})))
    return found


def format_trace(trace: Trace) -> str:
    """A table for a terminal: hop, time (UTC), +ms since the first hop, topic, module, details."""
    import datetime

    if not trace.hops:
        return f"trace {trace.trace_id}: no hops stored"
    first = trace.hops[0].ts
    lines = [f"trace {trace.trace_id} ({trace.query}): {len(trace.hops)} hops",
             f"{'#':>3}  {'time (UTC)':<26} {'+ms':>9}  {'topic':<20} {'module':<11} details"]
    for i, hop in enumerate(trace.hops, start=1):
        when = datetime.datetime.fromtimestamp(hop.ts, datetime.timezone.utc).isoformat(timespec="microseconds")
        detail = " ".join(f"{k}={v}" for k, v in hop.details.items() if v is not None)
        lines.append(f"{i:>3}  {when[:26]:<26} {(hop.ts - first) * 1000:>9.3f}  {hop.topic:<20} {hop.source:<11} "
                     f"{detail}")
    return "\n".join(lines)
