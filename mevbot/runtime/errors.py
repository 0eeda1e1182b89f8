"""Errors of the runtime: a bad module graph, an unknown module, a refused lifecycle request."""

from __future__ import annotations


class RuntimeModuleError(Exception):
    """Base of the runtime's errors."""


class ModuleGraphError(RuntimeModuleError):
    """The modules' dependencies cannot be ordered: a cycle or a missing module (a config error)."""


class DependencyCycleError(ModuleGraphError):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(f"module dependency cycle: {' -> '.join(cycle)}; "
                         "expected the depends_on declarations to form no cycle")


class MissingDependencyError(ModuleGraphError):
    def __init__(self, missing: dict[str, list[str]]) -> None:
        self.missing = missing
        detail = "; ".join(f"{module} needs {', '.join(deps)}" for module, deps in sorted(missing.items()))
        super().__init__(f"missing module dependency: {detail}; "
                         "expected every dependency to be selected too (see --modules)")


class UnknownModuleError(RuntimeModuleError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown module {name!r}; expected one of: {', '.join(sorted(known))}")


class LifecycleError(RuntimeModuleError):
    """A START/STOP/PAUSE/RESUME request that does not fit the module's current state."""
