"""The config manager: typed settings from config.toml, the environment and --set flags,
validated all at once, and reloaded live.

Sections are attrs classes declared beside the code that reads them (``mevbot/<pkg>/settings.py``)
and composed in :mod:`mevbot.config.schema`; this package loads, validates, shows and reloads them.
"""

from mevbot.config.errors import ConfigError, ConfigProblem
from mevbot.config.loader import load_config, resolve_config_path
from mevbot.config.reload import ConfigReloader, ReloadPlan, ReloadResult, plan_reload
from mevbot.config.render import config_to_toml, redacted
from mevbot.config.schema import Config

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
