"""The contract of a module: a nursery-scoped trio service with a name and dependencies.

A module subclasses :class:`Module`, sets ``name``, ``section`` (its config section) and
``depends_on``, and implements :meth:`Module.run`, calling ``task_status.started()`` once it is
ready to serve. The manager starts modules in dependency order with ``await nursery.start``, so
"started" means ready. Between units of work a module awaits ``ctx.gate.wait_open()``: that is
how PAUSE stops new work while keeping the module's state, and RESUME lets it continue.

STOP cancels the module's ``run`` (cancellation is normal control flow: clean up in
``finally``). Cleanup that must itself await (flush a queue, finish a write) goes inside
``with ctx.shielded_cleanup():``; it survives the stop's cancellation but is cut off when the
manager's shutdown deadline passes, so one stuck module cannot hold the process forever.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import trio


class HealthState(enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"
    FAILED = "failed"


@attrs.frozen
class Health:
    state: HealthState
    reason: str = ""


class HealthReporter:
    """What a module says about itself; the manager reads it and aggregates."""

    def __init__(self) -> None:
        self.current = Health(HealthState.OK, "starting")

    def ok(self, reason: str = "") -> None:
        self.current = Health(HealthState.OK, reason)

    def degraded(self, reason: str) -> None:
        self.current = Health(HealthState.DEGRADED, reason)

    def failed(self, reason: str) -> None:
        self.current = Health(HealthState.FAILED, reason)


class Gate:
    """Open while a module may take new work; closed while it is paused."""

    def __init__(self) -> None:
        self._open = trio.Event()
        self._open.set()

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def close(self) -> None:
        if self._open.is_set():
            self._open = trio.Event()

    def open(self) -> None:
        self._open.set()

    async def wait_open(self) -> None:
        await self._open.wait()


@attrs.define
class ModuleContext:
    """Everything a module gets from the runtime."""

    config: Any  # the module's settings section; replaced on a hot reload
    log: logging.Logger
    health: HealthReporter = attrs.field(factory=HealthReporter)
    gate: Gate = attrs.field(factory=Gate)
    bus: Any = None  # the message bus, once the process has one
    full_config: Any = None  # the whole Config, for modules that read other sections
    _cleanup_scopes: set[trio.CancelScope] = attrs.field(factory=set, init=False, repr=False)
    _cleanup_cut: bool = attrs.field(default=False, init=False, repr=False)
    #: How many cleanups were cancelled by a deadline (the manager reports those modules).
    cleanups_cut: int = attrs.field(default=0, init=False)

    @contextlib.contextmanager
    def shielded_cleanup(self) -> Iterator[trio.CancelScope]:
        """A scope shielded from STOP's cancellation, cancelled at the shutdown deadline."""
        scope = trio.CancelScope(shield=True)
        if self._cleanup_cut:
            scope.cancel()
            self.cleanups_cut += 1
        self._cleanup_scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._cleanup_scopes.discard(scope)

    def cut_cleanup(self) -> None:
        """Cancel every shielded cleanup, now and until :meth:`allow_cleanup` (the deadline passed)."""
        self._cleanup_cut = True
        for scope in list(self._cleanup_scopes):
            scope.cancel()
            self.cleanups_cut += 1

    def allow_cleanup(self) -> None:
        self._cleanup_cut = False


class Module:
    """Base class of every module; see the module docstring for the contract."""

    name: ClassVar[str]
    section: ClassVar[str | None] = None
    depends_on: ClassVar[tuple[str, ...]] = ()
    trades: ClassVar[bool] = False  # paused by an emergency stop before the risk manager exists

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        raise NotImplementedError

    def apply_config(self, ctx: ModuleContext, new_section: Any) -> None:
        """Take the reloadable keys of a new, valid config section. The default keeps it."""
        ctx.config = new_section
