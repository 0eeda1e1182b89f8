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
    """Fallback for commands without a dedicated view (dlq, routes): readable key: value lines."""
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
