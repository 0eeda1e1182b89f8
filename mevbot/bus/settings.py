"""Settings of the message bus ([bus])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class BusSettings:
    queue_size: int = setting(10_000, min=1, doc="Default bound of every subscription queue.")
    max_frame_bytes: int = setting(4 * 1024 * 1024, min=1024, doc="Largest frame a transport accepts.")
    critical_topics: list[str] = setting(factory=lambda: ["exec.request", "exec.result"],
                                         doc="Topics persisted in SQLite and delivered at least once.")
    persist_path: str = setting("run/bus.sqlite", doc="SQLite file of the critical-topic journal.")


@attrs.frozen
class DeploySettings:
    """Placement of modules on processes and hosts (filled by the bus/router work)."""
