"""The module manager: runs modules in one nursery, supervises them, and answers lifecycle requests.

Modules start in dependency order (each awaited with ``nursery.start``, so a module starts only
after its dependencies are ready) and stop in the reverse order. A module that crashes is logged
with its traceback and restarted after an exponential backoff; past ``runtime.restart_limit``
crashes it stays failed, its health says so, and every other module keeps running. PAUSE closes
the module's gate (it stops taking new work and keeps its state); RESUME opens it again.

Shutdown stops modules one by one in reverse start order under one shared deadline
(``runtime.shutdown_deadline_s``): STOP cancels a module's ``run``; if the module's shielded
cleanup is still going when the deadline passes, that cleanup is cancelled too.
"""

from __future__ import annotations

import enum
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import trio

from mevbot.runtime.errors import LifecycleError, UnknownModuleError
from mevbot.runtime.graph import start_order
from mevbot.runtime.health import aggregate_health
from mevbot.runtime.logs import current_module
from mevbot.runtime.module import Health, HealthState, Module, ModuleContext
from mevbot.runtime.settings import RuntimeSettings

log = logging.getLogger("mevbot.runtime")


class ModuleState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    FAILED = "failed"


@attrs.frozen
class ModuleStatus:
    """One row of `mevbot ctl modules`."""

    name: str
    state: ModuleState
    health: Health
    restarts: int
    depends_on: tuple[str, ...]
    trades: bool
    last_error: str = ""


@attrs.frozen
class ShutdownReport:
    stopped: tuple[str, ...]  # in the order they stopped
    cut_at_deadline: tuple[str, ...]  # modules whose cleanup was cancelled at the deadline

    @property
    def clean(self) -> bool:
        return not self.cut_at_deadline


def restart_delay(crashes: int, *, base_s: float, max_s: float) -> float:
    """Backoff before restart number ``crashes`` (1-based): base, 2*base, 4*base, ... capped."""
    return min(base_s * (2 ** (crashes - 1)), max_s)


@attrs.define(eq=False)
class _Slot:
    module: Module
    ctx: ModuleContext
    state: ModuleState = ModuleState.STOPPED
    crashes: int = 0
    restarts: int = 0
    last_error: str = ""
    run_scope: trio.CancelScope | None = None
    finished: trio.Event = attrs.field(factory=trio.Event)


def _section_of(config: Any, module: Module) -> Any:
    if config is None or module.section is None:
        return None
    return getattr(config, module.section)


def _unwrap(exc: BaseException) -> BaseException:
    """The single real error inside the nursery's exception groups, for a readable log."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class ModuleManager:
    """Runs a set of modules; see the module docstring for the lifecycle it implements."""

    def __init__(self, modules: Sequence[Module], *, config: Any = None,
                 runtime: RuntimeSettings | None = None, bus: Any = None,
                 absent_ok: Iterable[str] = ()) -> None:
        names = [m.name for m in modules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LifecycleError(f"module listed twice: {', '.join(duplicates)}; expected each module once")
        #: Start order; raises ModuleGraphError for a cycle or a missing dependency.
        self.order: list[str] = start_order({m.name: m.depends_on for m in modules}, absent_ok=absent_ok)
        #: Modules deliberately not run here (disabled in the config).
        self.absent = tuple(name for name in absent_ok if name not in names)
        self.config = config
        self.runtime = runtime or (config.runtime if config is not None else RuntimeSettings())
        self._slots: dict[str, _Slot] = {}
        for module in modules:
            ctx = ModuleContext(config=_section_of(config, module),
                                log=logging.getLogger(f"mevbot.{module.name}"),
                                bus=bus, full_config=config)
            self._slots[module.name] = _Slot(module, ctx)
        #: Parts of the process's health that are no module (e.g. its bus peers): name -> reader.
        self.health_sources: dict[str, Callable[[], Health]] = {}
        self._nursery: trio.Nursery | None = None
        self._closing = False
        self._closed = trio.Event()
        self.shutdown_report: ShutdownReport | None = None

    # ---- running -----------------------------------------------------------------------

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Start every module in dependency order; return after :meth:`shutdown` finishes."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                for name in self.order:
                    if self._closing:
                        break
                    await self.start(name)
                task_status.started(self)
                await self._closed.wait()
            finally:
                self._nursery = None

    async def shutdown(self) -> ShutdownReport:
        """Stop every module in reverse start order under one deadline, then cancel what is left."""
        if self._closing:
            await self._closed.wait()
            assert self.shutdown_report is not None
            return self.shutdown_report
        self._closing = True
        deadline = trio.current_time() + self.runtime.shutdown_deadline_s
        stopped: list[str] = []
        cut: list[str] = []
        for name in reversed(self.order):
            slot = self._slots[name]
            if slot.run_scope is None:
                continue
            if not await self._stop_slot(slot, deadline):
                cut.append(name)
            stopped.append(name)
        self.shutdown_report = ShutdownReport(tuple(stopped), tuple(cut))
        if cut:
            log.warning("shutdown deadline of %.1fs passed; cancelled the cleanup of: %s",
                        self.runtime.shutdown_deadline_s, ", ".join(cut))
        self._closed.set()
        return self.shutdown_report

    def cut_all_cleanup(self) -> None:
        """Cancel every module's shielded cleanup now (a second signal: stop without waiting)."""
        for slot in self._slots.values():
            slot.ctx.cut_cleanup()

    async def _stop_slot(self, slot: _Slot, deadline: float) -> bool:
        """Cancel one module and wait for it; True if it finished before the deadline."""
        slot.state = ModuleState.STOPPING
        assert slot.run_scope is not None
        slot.run_scope.cancel()
        with trio.move_on_at(deadline):
            await slot.finished.wait()
            return True
        cut_before = slot.ctx.cleanups_cut
        slot.ctx.cut_cleanup()
        await slot.finished.wait()
        if slot.ctx.cleanups_cut == cut_before:
            return True  # it had nothing left to clean up
        slot.ctx.log.warning("module %s was still cleaning up at the stop deadline; its cleanup was cancelled",
                             slot.module.name)
        return False

    async def _supervise(self, slot: _Slot, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run one module, restarting it after crashes; returns once it is stopped or failed."""
        name = slot.module.name
        current_module.set(name)
        reported = False
        try:
            with trio.CancelScope() as scope:
                slot.run_scope = scope
                while True:
                    started_at = trio.current_time()
                    try:
                        async with trio.open_nursery() as inner:
                            await inner.start(functools.partial(slot.module.run, slot.ctx))
                            slot.state = ModuleState.RUNNING
                            slot.ctx.log.info("module %s ready", name)
                            if not reported:
                                reported = True
                                task_status.started()
                        slot.ctx.log.info("module %s returned; it is now stopped", name)
                        return
                    except Exception as group:
                        exc = _unwrap(group)
                        slot.last_error = f"{type(exc).__name__}: {exc}"
                        if scope.cancel_called:  # it failed in its cleanup after STOP: no restart
                            slot.ctx.log.error("module %s raised while stopping: %s", name, slot.last_error,
                                               exc_info=exc)
                            return
                        slot.ctx.log.error("module %s crashed: %s", name, slot.last_error, exc_info=exc)
                        runtime = self.runtime
                        if trio.current_time() - started_at >= runtime.restart_backoff_max_s:
                            slot.crashes = 0  # it ran well for a while: a fresh crash, not a crash loop
                        slot.crashes += 1
                        if slot.crashes > runtime.restart_limit:
                            slot.state = ModuleState.FAILED
                            slot.ctx.health.failed(f"crashed {slot.crashes} times (restart limit "
                                                   f"{runtime.restart_limit}); last: {slot.last_error}")
                            slot.ctx.log.error("module %s stays failed: restart limit %d reached",
                                               name, runtime.restart_limit)
                            return
                        delay = restart_delay(slot.crashes, base_s=runtime.restart_backoff_s,
                                              max_s=runtime.restart_backoff_max_s)
                        slot.state = ModuleState.RESTARTING
                        slot.ctx.health.degraded(f"restarting in {delay:g}s after: {slot.last_error}")
                        slot.ctx.log.warning("restarting module %s in %gs (restart %d of %d)",
                                             name, delay, slot.crashes, runtime.restart_limit)
                        await trio.sleep(delay)
                        slot.restarts += 1
        except Exception as group:  # raised while being cancelled: log it, never take the bot down
            exc = _unwrap(group)
            slot.last_error = f"{type(exc).__name__}: {exc}"
            slot.ctx.log.error("module %s raised while stopping: %s", name, slot.last_error, exc_info=exc)
        finally:
            if slot.state is not ModuleState.FAILED:
                slot.state = ModuleState.STOPPED
                slot.ctx.log.info("module %s stopped", name)
            slot.run_scope = None
            slot.finished.set()
            if not reported:
                task_status.started()

    # ---- lifecycle requests --------------------------------------------------------------

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            if name in self.absent:
                raise LifecycleError(f"module {name} is not run by this bot (disabled: [{name}] enabled = false)") from None
            raise UnknownModuleError(name, list(self._slots)) from None

    async def start(self, name: str) -> ModuleStatus:
        """START: run a stopped or failed module; returns once it is ready (or failed)."""
        slot = self._slot(name)
        if slot.run_scope is not None:
            raise LifecycleError(f"module {name} is {self._state(slot).value}; START expects it stopped or failed")
        if self._nursery is None or self._closing:
            raise LifecycleError(f"cannot start module {name}: the manager is not running")
        waiting_on = [d for d in slot.module.depends_on
                      if d in self._slots and self._state(self._slots[d]) not in (ModuleState.RUNNING, ModuleState.PAUSED)]
        if waiting_on:
            slot.ctx.log.warning("starting module %s while its dependencies are not running: %s",
                                 name, ", ".join(waiting_on))
        slot.crashes = 0
        slot.state = ModuleState.STARTING
        slot.finished = trio.Event()
        slot.ctx.allow_cleanup()
        slot.ctx.health.ok("starting")
        await self._nursery.start(self._supervise, slot)
        return self.status_of(name)

    async def stop(self, name: str) -> ModuleStatus:
        """STOP: cancel a module and wait for it (its cleanup is cut at the shutdown deadline)."""
        slot = self._slot(name)
        if slot.run_scope is None:
            if slot.state is ModuleState.FAILED:
                slot.state = ModuleState.STOPPED  # the operator has seen it; now it is just stopped
                return self.status_of(name)
            raise LifecycleError(f"module {name} is already stopped")
        await self._stop_slot(slot, trio.current_time() + self.runtime.shutdown_deadline_s)
        return self.status_of(name)

    def pause(self, name: str) -> ModuleStatus:
        """PAUSE: the module stops taking new work at its next gate and keeps its state."""
        slot = self._slot(name)
        if slot.run_scope is None:
            raise LifecycleError(f"module {name} is {self._state(slot).value}; PAUSE expects it running")
        slot.ctx.gate.close()
        return self.status_of(name)

    def resume(self, name: str) -> ModuleStatus:
        """RESUME: open the gate again; the module continues where it stopped."""
        slot = self._slot(name)
        if slot.run_scope is None:
            raise LifecycleError(f"module {name} is {self._state(slot).value}; RESUME expects it paused")
        slot.ctx.gate.open()
        return self.status_of(name)

    # ---- hot reload ----------------------------------------------------------------------

    def apply_config(self, config: Any, sections: Iterable[str]) -> dict[str, str]:
        """Hand the changed ``sections`` of a valid new config to the modules that read them.

        The caller passes only sections whose changes are all reloadable. Returns, per module
        whose section changed, "applied" or the error its ``apply_config`` raised (that module
        keeps its old section). The runtime settings are taken as well when they changed.
        """
        changed = set(sections)
        self.config = config
        if "runtime" in changed:
            self.runtime = config.runtime
        outcome: dict[str, str] = {}
        for name, slot in self._slots.items():
            slot.ctx.full_config = config
            section = slot.module.section
            if section is None or section not in changed:
                continue
            new_section = getattr(config, section)
            try:
                slot.module.apply_config(slot.ctx, new_section)
            except Exception as exc:
                outcome[name] = f"error: {type(exc).__name__}: {exc}"
                slot.ctx.log.error("module %s rejected its new [%s] section; keeping the old one: %s",
                                   name, section, exc, exc_info=exc)
                continue
            slot.ctx.config = new_section
            outcome[name] = "applied"
            slot.ctx.log.info("module %s took its new [%s] section", name, section)
        return outcome

    # ---- status --------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self.order)

    def module(self, name: str) -> Module:
        return self._slot(name).module

    def context(self, name: str) -> ModuleContext:
        return self._slot(name).ctx

    def _state(self, slot: _Slot) -> ModuleState:
        if slot.state is ModuleState.RUNNING and not slot.ctx.gate.is_open:
            return ModuleState.PAUSED
        return slot.state

    def _health(self, slot: _Slot) -> Health:
        """What the module reports, overridden where its lifecycle state says more."""
        state = self._state(slot)
        reported = slot.ctx.health.current
        if state is ModuleState.FAILED:
            return reported if reported.state is HealthState.FAILED else Health(HealthState.FAILED, slot.last_error)
        if state in (ModuleState.STOPPED, ModuleState.STOPPING):
            return Health(HealthState.DEGRADED, state.value)
        if state is ModuleState.PAUSED:
            return Health(HealthState.DEGRADED, f"paused ({reported.reason})" if reported.reason else "paused")
        return reported

    def status_of(self, name: str) -> ModuleStatus:
        slot = self._slot(name)
        return ModuleStatus(name=name, state=self._state(slot), health=self._health(slot),
                            restarts=slot.restarts, depends_on=slot.module.depends_on,
                            trades=slot.module.trades, last_error=slot.last_error)

    def statuses(self) -> list[ModuleStatus]:
        return [self.status_of(name) for name in self.order]

    def health(self) -> Health:
        """The bot's health: the worst of its modules' and of :attr:`health_sources`, with the
        reasons of those not ok."""
        parts = {s.name: s.health for s in self.statuses()}
        if parts:  # a source that is ok says nothing ("all 3 modules ok" stays true)
            for name, read in self.health_sources.items():
                health = read()
                if health.state is not HealthState.OK:
                    parts[name] = health
        return aggregate_health(parts)
