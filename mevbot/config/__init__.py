"""The config manager: typed settings from config.toml, the environment and --set flags,
validated all at once, and reloaded live.

Sections are attrs classes declared beside the code that reads them (``mevbot/<pkg>/settings.py``)
and composed in :mod:`mevbot.config.schema`; this package loads, validates, shows and reloads them.
"""

import importlib
from typing import Any

# Lazy exports (PEP 562): every settings module imports mevbot.config.fields, and the loader
# imports the schema, which imports every settings module. Importing the loader eagerly here
# would make "import mevbot.<pkg>.settings" first a circular import.
_EXPORTS = {
    "ConfigError": "mevbot.config.errors",
    "ConfigProblem": "mevbot.config.errors",
    "load_config": "mevbot.config.loader",
    "resolve_config_path": "mevbot.config.loader",
    "ConfigReloader": "mevbot.config.reload",
    "ReloadPlan": "mevbot.config.reload",
    "ReloadResult": "mevbot.config.reload",
    "plan_reload": "mevbot.config.reload",
    "config_to_toml": "mevbot.config.render",
    "redacted": "mevbot.config.render",
    "Config": "mevbot.config.schema",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mevbot.config' has no attribute {name!r}")


__all__ = [
    "Config",
    "ConfigError",
    "ConfigProblem",
    "ConfigReloader",
    "ReloadPlan",
    "ReloadResult",
    "config_to_toml",
    "load_config",
    "plan_reload",
    "redacted",
    "resolve_config_path",
]
