"""Which module class answers to which name: import paths, imported only when a module is used.

Lazy imports keep `mevbot ctl` and `--help` quick and let a process that runs two modules avoid
importing the other five.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from mevbot.runtime.errors import UnknownModuleError
from mevbot.runtime.module import Module

MODULES: dict[str, str] = {
    "monitor": "mevbot.feed.module:MonitorModule",
    "parser": "mevbot.parser.module:ParserModule",
    "pipeline": "mevbot.pools.module:PipelineModule",
    "scanner": "mevbot.scanner.module:ScannerModule",
    "risk": "mevbot.risk.module:RiskModule",
    "execution": "mevbot.execution.module:ExecutionModule",
    "store": "mevbot.store.module:StoreModule",
    "observability": "mevbot.observability.module:ObservabilityModule",
}


def module_class(name: str) -> type[Module]:
    try:
        target = MODULES[name]
    except KeyError:
        raise UnknownModuleError(name, list(MODULES)) from None
    module_path, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_path), class_name)
    if cls.name != name:
        raise TypeError(f"{target} declares name {cls.name!r}; expected {name!r}")
    return cls


def create_modules(names: Iterable[str] | None = None) -> list[Module]:
    """One instance of each named module (all of them by default), in registry order."""
    wanted = list(MODULES) if names is None else list(names)
    for name in wanted:
        if name not in MODULES:
            raise UnknownModuleError(name, list(MODULES))
    return [module_class(name)() for name in MODULES if name in wanted]


def select_modules(config, names: Iterable[str] | None = None) -> tuple[list[Module], list[str]]:
    """The modules to run and the ones deliberately left out (``enabled = false``).

    ``names`` (from ``--modules``) restricts the set; a selected module whose section says
    ``enabled = false`` is left out too, and modules depending on a disabled one still start.
    """
    wanted = list(MODULES) if names is None else list(names)
    for name in wanted:
        if name not in MODULES:
            raise UnknownModuleError(name, list(MODULES))
    disabled = [name for name in MODULES
                if getattr(getattr(config, name, None), "enabled", True) is False]
    modules = create_modules(n for n in wanted if n not in disabled)
    return modules, disabled
