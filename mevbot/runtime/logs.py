"""Process logging per [log]: text or JSON lines, each record naming the module it came from
and the trace id of the bus message that module is handling (see ``current_trace``).

The module name comes from a context variable that the manager sets in each module's task, so
records from libraries called inside a module (httpx, trio-websocket) carry it too; records
from outside any module show "-".
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys
from pathlib import Path
from typing import TextIO

from mevbot.bus.envelope import current_trace

#: The module whose task is running (set by the manager in each supervised task).
current_module: contextvars.ContextVar[str] = contextvars.ContextVar("mevbot_module", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)-7s [%(mevbot_module)s%(mevbot_trace_tag)s] %(name)s: %(message)s"
_OURS = "_mevbot_handler"


class ModuleNameFilter(logging.Filter):
    """Adds ``record.mevbot_module`` and the trace of the message being handled,
    ``record.mevbot_trace`` (32 hex digits, as `mevbot trace` and the store show it, or "-")
    and ``record.mevbot_trace_tag`` (" trace=<hex>" or "", for the text format). Attached to
    handlers, so every record gets them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "mevbot_module"):
            record.mevbot_module = current_module.get()
        if not hasattr(record, "mevbot_trace"):
            trace = current_trace.get()
            record.mevbot_trace = f"{trace:032x}" if trace else "-"
            record.mevbot_trace_tag = f" trace={trace:x}" if trace else ""
        return True


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: ts, level, module, logger, msg, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "module": getattr(record, "mevbot_module", "-"),
            "trace": getattr(record, "mevbot_trace", "-"),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings, *, stream: TextIO | None = None) -> None:
    """Install the handlers described by a LogSettings (level, format, file), replacing ours."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = JsonLineFormatter() if settings.format == "json" else logging.Formatter(TEXT_FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if settings.file:
        Path(settings.file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(settings.file, encoding="utf-8"))
    for handler in handlers:
        setattr(handler, _OURS, True)
        handler.setFormatter(formatter)
        handler.addFilter(ModuleNameFilter())
        root.addHandler(handler)
    set_level(settings.level)


#: Libraries that log every request at INFO: one line per RPC call (thousands a minute, each
#: ~0.1-0.2 ms of a busy event loop) says nothing our own RPC logging and metrics do not.
CHATTY_LIBRARIES = ("httpx", "httpcore")


def set_level(level: str) -> None:
    """Change the level live (a reloadable key); chatty libraries log at WARNING or above, or
    at DEBUG when the bot does."""
    level = level.upper()
    logging.getLogger().setLevel(level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else max(logging.WARNING,
                                                                               logging.getLevelName(level)))
