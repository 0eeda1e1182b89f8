"""Ordering modules by their declared dependencies (pure: no I/O, no trio).

Start order puts every module after the modules it depends on; stop order is its reverse. Ties
keep the order the modules were given in, so the order is stable and readable in logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mevbot.runtime.errors import DependencyCycleError, MissingDependencyError


def start_order(depends_on: Mapping[str, Iterable[str]], *, absent_ok: Iterable[str] = ()) -> list[str]:
    """Names in an order where each module comes after its dependencies.

    ``depends_on`` maps each module to the modules it needs. A dependency in ``absent_ok`` (a
    module deliberately disabled) is not required; any other dependency that is not a key is
    missing. Raises :class:`MissingDependencyError` or :class:`DependencyCycleError`.
    """
    graph = {name: tuple(deps) for name, deps in depends_on.items()}
    tolerated = set(absent_ok)
    missing = {name: [d for d in deps if d not in graph and d not in tolerated]
               for name, deps in graph.items()}
    missing = {name: deps for name, deps in missing.items() if deps}
    if missing:
        raise MissingDependencyError(missing)

    order: list[str] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise DependencyCycleError(visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for dep in graph[name]:
            if dep in graph:
                visit(dep)
        visiting.pop()
        done.add(name)
        order.append(name)

    for name in graph:
        visit(name)
    return order
