"""One bot process: the module manager, the control socket, config hot reload and signals.

:meth:`Bot.run` binds the control socket first (so a second bot on the same socket exits before
starting any module), starts the modules in dependency order, then serves until SIGINT/SIGTERM
or :meth:`Bot.request_stop`, and shuts down gracefully (a second signal cancels at once).

Hot reload compares the new file with the config *in force* (not with the last file read), so a
non-reloadable change keeps being reported until the bot restarts, and a section holding one is
never half-applied.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from typing import Any

import attrs
import trio

from mevbot.config.reload import ConfigReloader, ReloadResult, plan_reload
from mevbot.control.server import ControlServer
from mevbot.runtime.heap import freeze_startup_heap
from mevbot.runtime.logs import set_level
from mevbot.runtime.manager import ModuleManager, ModuleState, ShutdownReport
from mevbot.runtime.module import Module

log = logging.getLogger("mevbot.runtime")


def make_bus(config: Any, process: str = "main") -> Any:
    """The process's message bus, with every message type of the catalog registered."""
    from mevbot.bus.bus import Bus
    from mevbot.bus.catalog import register_all

    register_all()
    return Bus(config.bus, process=process, deploy=config.deploy)


def _emergency_stop_store(config: Any) -> Any:
    """The persisted emergency stop shared with the risk and execution modules (None without [risk])."""
    risk = getattr(config, "risk", None)
    if risk is None:
        return None
    from mevbot.risk.breakers import EmergencyStopStore

    return EmergencyStopStore(risk.state_path)


class Bot:
    """Everything one `mevbot run` process runs; see the module docstring."""

    def __init__(self, config: Any, modules: Sequence[Module], *, reloader: ConfigReloader | None = None,
                 absent_ok: Sequence[str] = (), bus: Any = None, handle_signals: bool = True) -> None:
        self.config = config  # the config in force
        self.reloader = reloader
        self.bus = bus if bus is not None else make_bus(config)
        self.manager = ModuleManager(modules, config=config, bus=self.bus, absent_ok=absent_ok)
        self.control = ControlServer(config.control.socket_path,
                                     request_timeout_s=lambda: self.config.control.request_timeout_s)
        self.handle_signals = handle_signals
        self.stop_store = _emergency_stop_store(config)
        self._stopped_here = False  # the emergency stop of a config without [risk]
        self.started_at: float | None = None
        self.dashboard = None  # the live dashboard, when [observability] enabled
        self.shutdown_report: ShutdownReport | None = None
        self._stop_requested = trio.Event()
        from mevbot.control.commands import register_runtime_commands
        register_runtime_commands(self.control, self)
        if self.bus is not None:
            from mevbot.bus.control import register_control_commands
            register_control_commands(self.control, self.bus)  # dlq-list|replay|purge, routes

    @property
    def config_file(self) -> str | None:
        path = self.reloader.path if self.reloader is not None else None
        return str(path) if path is not None else None

    def request_stop(self) -> None:
        """Begin a graceful shutdown (what SIGTERM does)."""
        self._stop_requested.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> ShutdownReport:
        """Serve until asked to stop; returns how the shutdown went."""
        sock = await self.control.bind()  # before any module starts: a second bot stops here
        async with trio.open_nursery() as nursery:
            await nursery.start(self.control.serve, sock)
            if self.handle_signals:
                await nursery.start(self._watch_signals, nursery.cancel_scope)
            nursery.start_soon(self._shutdown_when_asked, nursery.cancel_scope)
            self.started_at = trio.current_time()
            if self.bus is not None:
                # critical messages a peer redelivers wait until every module has subscribed
                # (mevbot/bus/handover.py), so none is taken by only the first one up
                self.bus.handover.gated = True
                await nursery.start(self.bus.run)  # journal and peer links before any module
            await nursery.start(self.manager.run)
            freeze_startup_heap()  # every module is up: later collections skip what start-up made
            if self.bus is not None:
                self.bus.handover.open()
            if self.emergency_stopped:
                log.warning("emergency stop in force since a previous run (%s): trading stays paused until "
                            "`mevbot ctl clear-stop`", self.stop_store.current.reason)
                self._pause_trading()
            observability = getattr(self.config, "observability", None)
            if observability is not None and observability.enabled:
                from mevbot.observability.dashboard import serve_dashboard

                self.dashboard = await nursery.start(serve_dashboard, self, observability)
            if self.reloader is not None and self.config.runtime.watch_config:
                await nursery.start(lambda task_status: self.reloader.watch(
                    self.apply_reload, interval_s=self.config.runtime.watch_interval_s, task_status=task_status))
            log.info("bot running: pid %d, modules %s, control socket %s", os.getpid(),
                     ", ".join(self.manager.names), self.control.socket_path)
            task_status.started(self)
        assert self.shutdown_report is not None
        return self.shutdown_report

    async def _shutdown_when_asked(self, cancel_scope: trio.CancelScope) -> None:
        await self._stop_requested.wait()
        log.info("shutting down: stopping modules in reverse dependency order")
        self.shutdown_report = await self.manager.shutdown()
        log.info("shutdown %s", "clean" if self.shutdown_report.clean else "forced at the deadline")
        cancel_scope.cancel()

    async def _watch_signals(self, cancel_scope: trio.CancelScope, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for signum in signals:
                if not self._stop_requested.is_set():
                    log.info("received %s", signal.Signals(signum).name)
                    self.request_stop()
                else:
                    log.warning("received %s again: cancelling everything now", signal.Signals(signum).name)
                    self.shutdown_report = self.manager.shutdown_report or ShutdownReport((), tuple(self.manager.names))
                    self.manager.cut_all_cleanup()
                    cancel_scope.cancel()

    # ---- hot reload ----------------------------------------------------------------------

    def reload(self) -> dict[str, Any]:
        """Re-read the config file now (`mevbot ctl reload`); the reply of the control command."""
        if self.reloader is None:
            return {"ok": False, "error": "this bot has no config reloader"}
        return self.apply_reload(self.reloader.reload())

    def apply_reload(self, result: ReloadResult) -> dict[str, Any]:
        """Apply a reload result: reloadable sections go live, others are reported."""
        if not result.ok:
            assert result.error is not None
            # The reloader already logged the problems; the reply carries them to ctl.
            return {"ok": False, "error": f"invalid config, the running config stays in force "
                                          f"({len(result.error.problems)} problem(s))",
                    "problems": [str(p) for p in result.error.problems]}
        new = result.config
        plan = plan_reload(self.config, new)
        live = {section: keys for section, keys in plan.reloadable_sections.items()}
        if live:
            self.config = attrs.evolve(self.config, **{section: getattr(new, section) for section in live})
            if "log" in live:
                set_level(self.config.log.level)
            outcome = self.manager.apply_config(self.config, live)
            log.info("config applied live: %s", ", ".join(f"{s}.{k}" for s, keys in live.items() for k in keys))
        else:
            outcome = {}
        restart = set(plan.restart_required)
        held = {section: [k for k in keys if f"{section}.{k}" not in restart]
                for section, keys in plan.changed_sections.items() if section not in live}
        held = {section: keys for section, keys in held.items() if keys}
        if plan.restart_required:
            log.warning("config changes waiting for a restart: %s", ", ".join(plan.restart_required))
        return {"ok": True, "applied": live, "modules": outcome, "restart_required": plan.restart_required,
                "held": held}

    # ---- emergency stop ---------------------------------------------------------------------

    @property
    def emergency_stopped(self) -> bool:
        """Whether the emergency stop is in force: the persisted risk state, so also when it was
        set before a restart or by another process of a distributed deployment."""
        if self.stop_store is None:
            return self._stopped_here
        return self.stop_store.refresh().active

    def trading_modules(self) -> list[str]:
        return [name for name in self.manager.names if self.manager.module(name).trades]

    def emergency_stop(self, reason: str = "") -> list[str]:
        """Halt trading: pause every module that trades, then persist the stop (`[risk] state_path`)
        so that the risk and execution modules refuse every new send, after a restart too, until
        :meth:`clear_stop`. Returns the modules paused. Pausing comes first: if the state file
        cannot be written, trading is still halted here and the RiskStateError says why."""
        paused = self._pause_trading()
        log.warning("EMERGENCY STOP: paused %s", ", ".join(paused) or "nothing (no trading module running)")
        self._stopped_here = True
        if self.stop_store is not None:
            self.stop_store.set(reason or "mevbot ctl emergency-stop", time.time())
        return paused

    def clear_stop(self) -> list[str]:
        """Lift the emergency stop (its persisted state too) and resume the trading modules."""
        if self.stop_store is not None:
            self.stop_store.clear()
        self._stopped_here = False
        resumed = []
        for name in self.trading_modules():
            if self.manager.status_of(name).state is ModuleState.PAUSED:
                self.manager.resume(name)
                resumed.append(name)
        log.warning("emergency stop cleared: resumed %s", ", ".join(resumed) or "nothing")
        return resumed

    def _pause_trading(self) -> list[str]:
        paused = []
        for name in self.trading_modules():
            if self.manager.status_of(name).state not in (ModuleState.STOPPED, ModuleState.FAILED,
                                                          ModuleState.PAUSED):
                self.manager.pause(name)
                paused.append(name)
        return paused

    def uptime_s(self) -> float:
        return 0.0 if self.started_at is None else trio.current_time() - self.started_at
