"""Settings of the data store ([store])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class StoreSettings:
    enabled: bool = setting(True, doc="Run the data store.")
    path: str = setting("run/mevbot.sqlite", doc="SQLite database file (WAL mode).")
    retention_days: int = setting(30, min=1, doc="Rows older than this are deleted.", reloadable=True)
    raw_feed_retention_days: int = setting(7, min=1, reloadable=True,
                                           doc="Raw feed messages (the bulk of the file) older than this are deleted.")
    retention_interval_s: float = setting(3600.0, gt=0, reloadable=True,
                                          doc="How often expired rows are deleted.")
    batch_rows: int = setting(500, min=1, doc="Most rows written in one transaction.")
    flush_interval_s: float = setting(0.1, gt=0, doc="Longest a queued row waits for its batch to fill.")
    queue_size: int = setting(10_000, min=1, doc="Rows queued for the writer; a full queue makes "
                              "the store's bus subscriptions dead-letter (the hot path never waits).")
    metrics_interval_s: float = setting(60.0, gt=0, reloadable=True,
                                        doc="How often a snapshot of the Prometheus metrics is stored.")
