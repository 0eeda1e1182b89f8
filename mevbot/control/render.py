"""Readable text for control replies: the module table (shared by `ctl` and `demo`) and the rest.

Everything here works on the wire form (plain dicts), so `mevbot ctl` renders a reply without
importing the runtime, and the demo renders rows it builds with :func:`module_row`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

COLUMNS = (("MODULE", "name"), ("STATE", "state"), ("HEALTH", "health"), ("RESTARTS", "restarts"),
           ("REASON", "reason"))


def module_row(status: Any) -> dict[str, Any]:
    """The wire form of a :class:`mevbot.runtime.manager.ModuleStatus`."""
    return {
        "name": status.name,
        "state": status.state.value,
        "health": status.health.state.value,
        "reason": status.health.reason,
        "restarts": status.restarts,
        "depends_on": list(status.depends_on),
        "trades": status.trades,
        "last_error": status.last_error,
    }


def render_module_table(rows: Sequence[dict[str, Any]], *, max_reason: int = 60) -> str:
    """A fixed-width table of module rows, one line per module."""
    cells = [[title for title, _ in COLUMNS]]
    for row in rows:
        reason = str(row.get("reason", ""))
        if len(reason) > max_reason:
            reason = reason[: max_reason - 3] + "..."
        cells.append([str(row.get(key, "")) if key != "reason" else reason for _, key in COLUMNS])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in cells)


def render_status(reply: dict[str, Any]) -> str:
    health = reply.get("health", {})
    lines = [f"bot: {health.get('state', '?')} ({health.get('reason', '')})",
             f"pid {reply.get('pid', '?')}, up {reply.get('uptime_s', 0):.0f}s, "
             f"config {reply.get('config_file') or '(defaults)'}"]
    if reply.get("emergency_stop"):
        lines.append("EMERGENCY STOP ACTIVE: trading modules are paused (`mevbot ctl clear-stop` resumes)")
    if reply.get("disabled"):
        lines.append("disabled: " + ", ".join(reply["disabled"]))
    lines += ["", render_module_table(reply.get("modules", []))]
    return "\n".join(lines)


def render_reload(reply: dict[str, Any]) -> str:
    if not reply.get("ok"):
        lines = [f"reload rejected: {reply.get('error', '')}"]
        lines += [f"  - {p}" for p in reply.get("problems", [])]
        return "\n".join(lines)
    applied = reply.get("applied", {})
    lines = []
    if applied:
        lines.append("applied: " + ", ".join(f"{s}.{k}" for s, keys in applied.items() for k in keys))
    for module, outcome in reply.get("modules", {}).items():
        if outcome != "applied":
            lines.append(f"module {module} kept its old section: {outcome}")
    if reply.get("restart_required"):
        lines.append("needs a restart to apply: " + ", ".join(reply["restart_required"]))
    held = reply.get("held", {})
    if held:
        lines.append("held with them until the restart (same section): "
                     + ", ".join(f"{s}.{k}" for s, keys in held.items() for k in keys))
    return "\n".join(lines) or "reloaded: nothing changed"


def render_generic(reply: dict[str, Any]) -> str:
    """Fallback for commands without a dedicated view: readable key: value lines."""
    body = {k: v for k, v in reply.items() if k != "ok"}
    if not body:
        return "ok"
    lines = []
    for key, value in body.items():
        if isinstance(value, (dict, list)):
            lines.append(f"{key}:")
            lines += ["  " + line for line in json.dumps(value, indent=2, default=str).splitlines()]
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


# ---- the bus: `ctl dlq list|replay|purge` and `ctl routes` -----------------------------------

def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Fixed-width columns; the last column is never padded (long reasons stay whole)."""
    cells = [list(header)] + [["-" if v is None or v == "" else str(v) for v in row] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in cells)


def _dlq_stats_line(stats: dict[str, Any]) -> str:
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.get("by_reason", {}).items()))
    return (f"dead letters: {stats.get('queued', 0)} queued, {stats.get('total', 0)} since start, "
            f"{stats.get('evicted', 0)} evicted" + (f" (by reason: {reasons})" if reasons else ""))


def _utc_time(ns: Any) -> str:
    import time

    if not isinstance(ns, int):
        return "?"
    return time.strftime("%H:%M:%S", time.gmtime(ns / 1e9)) + f".{ns // 1_000_000 % 1000:03d}"


def render_dlq_list(reply: dict[str, Any]) -> str:
    letters = reply.get("letters", [])
    lines = [_dlq_stats_line(reply.get("stats", {}))]
    if not letters:
        return "\n".join(lines + ["no dead letters match"])
    shown = f"showing {len(letters)} of {reply.get('matching', len(letters))} matching (oldest first)"
    rows = []
    for letter in letters:
        head = (letter.get("raw_head") or "")[:16]
        what = letter.get("topic") or f"raw {letter.get('raw_bytes')} B {head}{'...' if head else ''}".strip()
        rows.append([letter.get("seq"), _utc_time(letter.get("dead_ns")), what, letter.get("tag"),
                     letter.get("origin"), "yes" if letter.get("replayable") else "no",
                     letter.get("reason")])
    return "\n".join(lines + [shown, "", _table(
        ("SEQ", "DIED (UTC)", "TOPIC / BYTES", "TYPE", "ORIGIN", "REPLAY", "REASON"), rows)])


def render_dlq_replay(reply: dict[str, Any]) -> str:
    lines = [f"replayed {reply.get('count', 0)} dead letter(s)"
             + (": " + ", ".join(reply["replayed"]) if reply.get("replayed") else "")]
    if reply.get("not_replayable"):
        lines.append("kept (no envelope to republish, e.g. undecodable frames; purge them): seq "
                     + ", ".join(str(s) for s in reply["not_replayable"]))
    lines.append(_dlq_stats_line(reply.get("stats", {})))
    return "\n".join(lines)


def render_dlq_purge(reply: dict[str, Any]) -> str:
    return f"purged {reply.get('purged', 0)} dead letter(s)\n" + _dlq_stats_line(reply.get("stats", {}))


def render_routes(reply: dict[str, Any]) -> str:
    stats = reply.get("stats", {})
    lines = [f"process {reply.get('process', '?')}: {stats.get('published', 0)} published, "
             f"{stats.get('unrouted', 0)} with no subscriber, {stats.get('dropped', 0)} dropped, "
             f"{stats.get('duplicates_suppressed', 0)} duplicates suppressed",
             _dlq_stats_line(stats.get("dlq", {})), ""]
    routes = reply.get("routes", [])
    rows, notes, subs = [], [], []
    for route in routes:
        if route.get("transport") == "memory" and "lanes" not in route:
            rows.append([route.get("peer"), "memory", route.get("address"), "-", "up", "-", "-", "-",
                         "-", "-", "-"])
            subs = route.get("subscriptions", [])
            continue
        for lane_name, lane in route.get("lanes", {}).items():
            if not lane.get("sessions") and not lane.get("connected") and lane_name != "fast":
                continue  # a bulk lane never opened (memory links, or not dialled yet)
            rows.append([route.get("peer"), route.get("transport"), route.get("address"), lane_name,
                         "up" if lane.get("connected") else "down", lane.get("sent"),
                         lane.get("received"), lane.get("batches"), lane.get("queued"),
                         lane.get("dead_lettered"), lane.get("sessions")])
        notes.append(f"  {route.get('peer')}: {route.get('reason') or 'no reason given'}; peer subscribes to "
                     f"{', '.join(route.get('patterns', [])) or 'nothing'}; {route.get('acked', 0)} critical acked, "
                     f"{route.get('pending_critical', 0)} pending; {route.get('failovers', 0)} failovers to bulk, "
                     f"{route.get('connect_failures', 0)} failed connects"
                     + (f"; read-only monitor, {sum(lane.get('refused', 0) for lane in route.get('lanes', {}).values())} "
                        "messages it sent refused" if route.get("read_only") else ""))
    lines.append(_table(("PEER", "TRANSPORT", "ADDRESS", "LANE", "STATE", "SENT", "RECEIVED", "BATCHES",
                         "QUEUED", "DEAD", "SESSIONS"), rows))
    if notes:
        lines += ["", "why and what:"] + notes
    lines += ["", "in-process subscriptions (memory route):"]
    if subs:
        lines.append(_table(("NAME", "PATTERN", "POLICY", "DEPTH", "MAX", "DELIVERED", "DROPPED",
                             "DEAD-LETTERED"),
                            [[s.get("name"), s.get("pattern"), s.get("overflow"),
                              f"{s.get('depth')}/{s.get('maxlen')}", s.get("max_depth"), s.get("delivered"),
                              s.get("dropped"), s.get("dead_lettered")] for s in subs]))
    else:
        lines.append("  none")
    return "\n".join(lines)
