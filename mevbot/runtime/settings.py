"""Settings of the runtime: logging and module supervision ([log], [runtime])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class LogSettings:
    level: str = setting("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), doc="Log level: DEBUG, INFO, WARNING or ERROR.", reloadable=True)
    format: str = setting("text", choices=("text", "json"), doc="Log format: 'text' (human-readable) or 'json'.")
    file: str = setting("", doc="Also write logs to this file ('' = stderr only).")


@attrs.frozen
class RuntimeSettings:
    restart_limit: int = setting(5, min=0, doc="Restarts of a crashed module before it stays failed.", reloadable=True)
    restart_backoff_s: float = setting(0.5, gt=0, doc="First restart delay; doubles on each crash.", reloadable=True)
    restart_backoff_max_s: float = setting(30.0, gt=0, doc="Upper bound of the restart delay.", reloadable=True)
    shutdown_deadline_s: float = setting(10.0, gt=0, doc="Graceful-stop deadline before tasks are cancelled.", reloadable=True)
    watch_config: bool = setting(True, doc="Reload the config file when it changes on disk.")
    watch_interval_s: float = setting(1.0, gt=0, doc="How often the config file's mtime is checked.")
