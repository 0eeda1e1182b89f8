"""Settings of the data store ([store])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class StoreSettings:
    enabled: bool = setting(True, doc="Run the data store.")
    path: str = setting("run/mevbot.sqlite", doc="SQLite database file (WAL mode).")
    retention_days: int = setting(30, min=1, doc="Rows older than this are deleted.", reloadable=True)
