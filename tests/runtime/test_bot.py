"""The Bot in-process: module selection, hot reload against the config in force, emergency stop."""

from __future__ import annotations

import gc
import logging
import os
import signal
import tempfile
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing

from mevbot.config.reload import ConfigReloader
from mevbot.runtime.bot import Bot
from mevbot.runtime.errors import LifecycleError, MissingDependencyError, UnknownModuleError
from mevbot.runtime.manager import ModuleManager, ModuleState
from mevbot.runtime.module import HealthState, Module
from mevbot.runtime.registry import MODULES, select_modules
from tests.fixtures.botconfig import devnet_environ


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="mbbot") as name:  # short: Unix socket path limit
        yield Path(name)


_DEVNET = None


@pytest.fixture(autouse=True)
def _on_the_devnet(devnet):
    """Every bot in these tests runs its real modules against the test devnet."""
    global _DEVNET
    _DEVNET = devnet


def write_config(workdir: Path, extra: str = "") -> Path:
    path = workdir / "config.toml"
    path.write_text(f'[runtime]\nwatch_config = false\n[control]\nsocket_path = "{workdir}/bot.sock"\n{extra}')
    return path


@pytest.fixture
def restore_log_level():
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


async def start_bot(nursery, workdir: Path, extra: str = "") -> Bot:
    reloader = ConfigReloader(write_config(workdir, extra), environ=devnet_environ(_DEVNET, workdir))
    modules, disabled = select_modules(reloader.current)
    bot = Bot(reloader.current, modules, reloader=reloader, absent_ok=disabled, handle_signals=False)
    await nursery.start(bot.run)
    return bot


def test_every_registered_module_loads_and_the_chain_orders_monitor_to_execution():
    modules, disabled = select_modules(None)  # no config: nothing is disabled
    assert [m.name for m in modules] == list(MODULES) and disabled == []
    assert ModuleManager(modules).order == ["monitor", "parser", "pipeline", "scanner", "risk", "execution", "store",
                                            "observability"]
    assert [m.name for m in modules if m.trades] == ["execution"]


def test_selecting_a_module_without_its_dependency_is_a_config_error():
    modules, disabled = select_modules(None, ["scanner", "store"])
    with pytest.raises(MissingDependencyError, match="scanner needs pipeline"):
        ModuleManager(modules, absent_ok=disabled)
    with pytest.raises(UnknownModuleError, match="unknown module 'scaner'"):
        select_modules(None, ["scaner"])


async def test_every_module_reports_ok_on_the_devnet_and_a_disabled_module_is_left_out(workdir):
    async with trio.open_nursery() as nursery:
        bot = await start_bot(nursery, workdir, "[monitor]\nenabled = false\n")
        assert "monitor" not in bot.manager.names and bot.manager.names[0] == "parser"
        with pytest.raises(LifecycleError, match=r"disabled: \[monitor\] enabled = false"):
            bot.manager.pause("monitor")
        assert all(s.health.state is HealthState.OK for s in bot.manager.statuses()), \
            [(s.name, s.health) for s in bot.manager.statuses()]
        bot.request_stop()
    assert bot.shutdown_report.clean


async def test_once_every_module_is_up_the_start_up_heap_is_frozen(workdir):
    """Later collections skip what start-up made (mevbot/runtime/heap.py). The scanner, which
    also freezes after reading its snapshot, is off: the freeze seen is the bot's own."""
    gc.unfreeze()
    try:
        async with trio.open_nursery() as nursery:
            bot = await start_bot(nursery, workdir, "[scanner]\nenabled = false\n")
            assert "scanner" not in bot.manager.names
            assert gc.get_freeze_count() > 0
            bot.request_stop()
    finally:
        gc.unfreeze()


async def test_reload_compares_with_the_config_in_force_so_a_held_section_stays_held(workdir, restore_log_level):
    async with trio.open_nursery() as nursery:
        bot = await start_bot(nursery, workdir)
        write_config(workdir, "[scanner]\nmax_hops = 2\nmin_profit_wei = 7\n")
        reply = bot.reload()
        assert reply["ok"] and reply["restart_required"] == ["scanner.max_hops"] and reply["applied"] == {}
        assert reply["held"] == {"scanner": ["min_profit_wei"]}
        assert bot.manager.context("scanner").config.min_profit_wei == 10**12  # not half-applied

        write_config(workdir, "[scanner]\nmax_hops = 2\nmin_profit_wei = 8\n[risk]\nmax_trade_wei = 5\n"
                              '[log]\nlevel = "DEBUG"\n')
        reply = bot.reload()
        assert reply["restart_required"] == ["scanner.max_hops"]  # still reported, still held
        assert reply["applied"] == {"risk": ["max_trade_wei"], "log": ["level"]}
        assert reply["modules"] == {"risk": "applied"}
        assert bot.manager.context("risk").config.max_trade_wei == 5
        assert logging.getLogger().level == logging.DEBUG

        write_config(workdir, "[risk]\nmax_trade_wei = -1\n")
        reply = bot.reload()
        assert not reply["ok"] and any("risk.max_trade_wei" in p for p in reply["problems"])
        assert bot.config.risk.max_trade_wei == 5
        bot.request_stop()


async def test_emergency_stop_pauses_only_trading_modules_and_clear_stop_resumes_them(workdir):
    async with trio.open_nursery() as nursery:
        bot = await start_bot(nursery, workdir)
        assert bot.emergency_stop() == ["execution"]
        assert bot.manager.status_of("execution").state is ModuleState.PAUSED
        assert bot.manager.status_of("risk").state is ModuleState.RUNNING
        assert bot.clear_stop() == ["execution"]
        assert bot.manager.status_of("execution").state is ModuleState.RUNNING
        bot.request_stop()


async def test_emergency_stop_is_persisted_and_a_restarted_bot_keeps_trading_halted_until_cleared(workdir):
    from mevbot.risk.breakers import EmergencyStopStore

    state = EmergencyStopStore(workdir / "risk-state.json")  # the path devnet_environ gives [risk]
    async with trio.open_nursery() as nursery:
        bot = await start_bot(nursery, workdir)
        bot.emergency_stop("operator: test")
        assert state.refresh().active and state.current.reason == "operator: test"
        bot.request_stop()
    async with trio.open_nursery() as nursery:
        bot = await start_bot(nursery, workdir)  # a new process would see the same file
        assert bot.emergency_stopped
        assert bot.manager.status_of("execution").state is ModuleState.PAUSED
        assert bot.manager.module("risk").halted() == "emergency stop: operator: test"
        bot.clear_stop()
        assert not state.refresh().active and not bot.emergency_stopped
        assert bot.manager.status_of("execution").state is ModuleState.RUNNING
        assert bot.manager.module("risk").halted() is None
        bot.request_stop()


class StuckCleanup(Module):
    """A module whose cleanup never ends on its own (a hung flush)."""

    name = "stuck"

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            with ctx.shielded_cleanup():
                await trio.sleep_forever()


async def test_sigterm_starts_a_graceful_stop_and_a_second_one_cuts_it_short(workdir):
    reloader = ConfigReloader(write_config(workdir), environ={})
    config = attrs.evolve(reloader.current,
                          runtime=attrs.evolve(reloader.current.runtime, shutdown_deadline_s=3600.0))
    bot = Bot(config, [StuckCleanup()], reloader=reloader)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run)
            os.kill(os.getpid(), signal.SIGTERM)
            while bot.manager.status_of("stuck").state is not ModuleState.STOPPING:
                await trio.sleep(0.01)  # polling a real condition: the signal is handled in the bot
            await trio.testing.wait_all_tasks_blocked()
            assert bot.shutdown_report is None  # still waiting for the cleanup, deadline far away
            os.kill(os.getpid(), signal.SIGTERM)
    assert bot.shutdown_report is not None and not bot.shutdown_report.clean
    assert bot.manager.status_of("stuck").state is ModuleState.STOPPED
