"""The module manager's lifecycle: order, pause/resume, supervision, shutdown, reload."""

from __future__ import annotations

import math

import attrs
import pytest
import trio
import trio.testing

from mevbot.runtime.errors import DependencyCycleError, LifecycleError, MissingDependencyError
from mevbot.runtime.manager import ModuleManager, ModuleState, restart_delay
from mevbot.runtime.module import HealthState, Module
from mevbot.runtime.settings import RuntimeSettings


class Recording(Module):
    """Records start and stop; optionally a slow shielded cleanup."""

    def __init__(self, name: str, events: list, depends_on: tuple[str, ...] = (), *,
                 cleanup_s: float = 0.0, ready_after_s: float = 0.0) -> None:
        self.name = name
        self.depends_on = depends_on
        self.events = events
        self.cleanup_s = cleanup_s
        self.ready_after_s = ready_after_s

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        await trio.sleep(self.ready_after_s)
        self.events.append(("ready", self.name))
        task_status.started()
        ctx.health.ok("recording")
        try:
            await trio.sleep_forever()
        finally:
            if self.cleanup_s:
                with ctx.shielded_cleanup():
                    await trio.sleep(self.cleanup_s)
                    self.events.append(("cleaned", self.name))
            self.events.append(("stopped", self.name))


class Worker(Module):
    """Takes items from a channel one at a time and keeps a running total (its state)."""

    name = "worker"

    def __init__(self, receive: trio.MemoryReceiveChannel) -> None:
        self.receive = receive
        self.processed: list[int] = []

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        while True:
            await ctx.gate.wait_open()
            item = await self.receive.receive()
            await ctx.gate.wait_open()  # paused after taking it: hold it, do not process yet
            self.processed.append(item)


class Crasher(Module):
    name = "crasher"

    def __init__(self, *, before_ready: bool = False) -> None:
        self.crash_times: list[float] = []
        self.before_ready = before_ready

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        if not self.before_ready:
            task_status.started()
        await trio.sleep(0)
        self.crash_times.append(trio.current_time())
        raise ValueError("boom")


class Ticker(Module):
    name = "ticker"

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        ctx.health.ok("ticking")
        while True:
            await trio.sleep(1)
            self.ticks += 1


async def wait_for(predicate, timeout_s: float = 100.0) -> None:
    with trio.fail_after(timeout_s):
        while not predicate():
            await trio.sleep(0.01)


def test_start_order_puts_dependencies_first_whatever_the_listing_order():
    events: list = []
    modules = [Recording("execution", events, ("risk",)), Recording("store", events),
               Recording("risk", events, ("scanner",)), Recording("scanner", events)]
    assert ModuleManager(modules).order == ["scanner", "risk", "execution", "store"]


def test_dependency_cycle_is_a_clear_error_naming_the_cycle():
    events: list = []
    modules = [Recording("a", events, ("c",)), Recording("b", events, ("a",)), Recording("c", events, ("b",))]
    with pytest.raises(DependencyCycleError) as info:
        ModuleManager(modules)
    message = str(info.value)
    assert "cycle" in message and "a" in info.value.cycle and "b" in info.value.cycle and "c" in info.value.cycle
    assert info.value.cycle[0] == info.value.cycle[-1]


def test_missing_dependency_is_a_clear_error_naming_module_and_dependency():
    events: list = []
    with pytest.raises(MissingDependencyError) as info:
        ModuleManager([Recording("parser", events, ("monitor",)), Recording("store", events)])
    assert "parser needs monitor" in str(info.value)


def test_a_deliberately_absent_dependency_is_tolerated():
    events: list = []
    manager = ModuleManager([Recording("parser", events, ("monitor",))], absent_ok=["monitor"])
    assert manager.order == ["parser"]


async def test_modules_start_after_their_dependencies_are_ready_and_stop_in_reverse(autojump_clock):
    events: list = []
    modules = [Recording("c", events, ("b",)), Recording("b", events, ("a",), ready_after_s=3),
               Recording("a", events, ready_after_s=5), Recording("solo", events)]
    manager = ModuleManager(modules)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        assert [e for e in events if e[0] == "ready"] == [("ready", n) for n in ["a", "b", "c", "solo"]]
        assert all(s.state is ModuleState.RUNNING for s in manager.statuses())
        events.clear()
        report = await manager.shutdown()
    assert events == [("stopped", n) for n in ["solo", "c", "b", "a"]]
    assert report.clean and report.stopped == ("solo", "c", "b", "a")


async def test_pause_stops_taking_work_keeps_state_and_resume_continues():
    send, receive = trio.open_memory_channel(10)
    worker = Worker(receive)
    manager = ModuleManager([worker])
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        for item in (1, 2, 3):
            await send.send(item)
        await trio.testing.wait_all_tasks_blocked()
        assert worker.processed == [1, 2, 3]

        assert manager.pause("worker").state is ModuleState.PAUSED
        for item in (4, 5):
            await send.send(item)
        await trio.testing.wait_all_tasks_blocked()
        assert worker.processed == [1, 2, 3]
        assert manager.status_of("worker").health.state is HealthState.DEGRADED

        assert manager.resume("worker").state is ModuleState.RUNNING
        await trio.testing.wait_all_tasks_blocked()
        assert worker.processed == [1, 2, 3, 4, 5]  # same instance, state kept, nothing lost
        await manager.shutdown()


async def test_crashed_module_restarts_with_backoff_then_stays_failed_while_others_run(autojump_clock):
    crasher, ticker = Crasher(), Ticker()
    runtime = RuntimeSettings(restart_limit=3, restart_backoff_s=1.0, restart_backoff_max_s=10.0)
    manager = ModuleManager([crasher, ticker], runtime=runtime)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await wait_for(lambda: manager.status_of("crasher").state is ModuleState.FAILED)
        gaps = [b - a for a, b in zip(crasher.crash_times, crasher.crash_times[1:])]
        assert len(crasher.crash_times) == 4  # the first run plus restart_limit restarts
        assert [round(g, 1) for g in gaps] == [1.0, 2.0, 4.0]

        status = manager.status_of("crasher")
        assert status.health.state is HealthState.FAILED
        assert "restart limit 3" in status.health.reason and "ValueError: boom" in status.health.reason
        assert status.restarts == 3

        ticks = ticker.ticks
        await trio.sleep(20)
        assert ticker.ticks > ticks and manager.status_of("ticker").state is ModuleState.RUNNING
        assert len(crasher.crash_times) == 4
        overall = manager.health()
        assert overall.state is HealthState.FAILED and "crasher failed" in overall.reason
        await manager.shutdown()


async def test_a_crash_before_ready_is_restarted_too_and_start_returns_once_failed(autojump_clock):
    crasher = Crasher(before_ready=True)
    runtime = RuntimeSettings(restart_limit=2, restart_backoff_s=0.5, restart_backoff_max_s=10.0)
    manager = ModuleManager([crasher], runtime=runtime)
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        assert len(crasher.crash_times) == 3
        assert manager.status_of("crasher").state is ModuleState.FAILED
        await manager.shutdown()


def test_restart_delay_doubles_and_is_capped():
    assert [restart_delay(n, base_s=0.5, max_s=3.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


async def test_stop_and_start_one_module_leaves_the_others_running():
    events: list = []
    manager = ModuleManager([Recording("a", events), Recording("b", events)])
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        events.clear()
        assert (await manager.stop("a")).state is ModuleState.STOPPED
        assert events == [("stopped", "a")]
        assert manager.status_of("b").state is ModuleState.RUNNING
        with pytest.raises(LifecycleError, match="already stopped"):
            await manager.stop("a")
        with pytest.raises(LifecycleError, match="START expects it stopped"):
            await manager.start("b")
        assert (await manager.start("a")).state is ModuleState.RUNNING
        assert events[-1] == ("ready", "a")
        await manager.shutdown()


async def test_shutdown_waits_for_cleanup_within_the_deadline_in_reverse_order(autojump_clock):
    events: list = []
    manager = ModuleManager([Recording("a", events, cleanup_s=2), Recording("b", events, ("a",), cleanup_s=3)],
                            runtime=RuntimeSettings(shutdown_deadline_s=10))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        events.clear()
        start = trio.current_time()
        report = await manager.shutdown()
    assert events == [("cleaned", "b"), ("stopped", "b"), ("cleaned", "a"), ("stopped", "a")]
    assert report.clean and math.isclose(trio.current_time() - start, 5, abs_tol=0.1)


async def test_shutdown_cancels_cleanup_still_running_at_the_deadline(autojump_clock):
    events: list = []
    manager = ModuleManager([Recording("a", events), Recording("b", events, ("a",), cleanup_s=1000),
                             Recording("c", events, ("b",))],
                            runtime=RuntimeSettings(shutdown_deadline_s=10))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        events.clear()
        start = trio.current_time()
        report = await manager.shutdown()
    # b's cleanup never finished: it was cancelled at the deadline, and a still stopped after it
    assert events == [("stopped", "c"), ("stopped", "b"), ("stopped", "a")]
    assert math.isclose(trio.current_time() - start, 10, abs_tol=0.1)
    assert report.cut_at_deadline == ("b",) and not report.clean


@attrs.frozen
class Section:
    threshold: int


class Tunable(Recording):
    section = "tunable"

    def __init__(self, events: list, *, reject: bool = False) -> None:
        super().__init__("tunable", events)
        self.reject = reject

    def apply_config(self, ctx, new_section):
        if self.reject:
            raise ValueError("threshold too high")
        self.events.append(("applied", new_section.threshold))


@attrs.frozen
class FakeConfig:
    # The real Config has every section; the manager only reads the one a module names.
    tunable: Section
    runtime: RuntimeSettings = RuntimeSettings()


async def test_apply_config_hands_the_new_section_to_the_module_and_replaces_ctx_config():
    events: list = []
    manager = ModuleManager([Tunable(events)], config=FakeConfig(Section(1)))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        new = FakeConfig(Section(2), RuntimeSettings(restart_limit=9))
        assert manager.apply_config(new, ["tunable", "runtime"]) == {"tunable": "applied"}
        assert ("applied", 2) in events
        assert manager.context("tunable").config == Section(2)
        assert manager.runtime.restart_limit == 9
        await manager.shutdown()


async def test_a_module_rejecting_its_new_section_keeps_the_old_one():
    manager = ModuleManager([Tunable([], reject=True)], config=FakeConfig(Section(1)))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        outcome = manager.apply_config(FakeConfig(Section(2)), ["tunable"])
        assert outcome["tunable"].startswith("error: ValueError: threshold too high")
        assert manager.context("tunable").config == Section(1)
        await manager.shutdown()


class FailsOnStop(Module):
    name = "fails-on-stop"

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        self.runs += 1
        task_status.started()
        try:
            await trio.sleep_forever()
        finally:
            raise OSError("flush failed")


async def test_a_module_failing_in_its_cleanup_is_stopped_not_restarted(autojump_clock):
    module = FailsOnStop()
    manager = ModuleManager([module, Ticker()])
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        status = await manager.stop("fails-on-stop")
        assert status.state is ModuleState.STOPPED and status.last_error == "OSError: flush failed"
        await trio.sleep(60)
        assert module.runs == 1 and manager.status_of("ticker").state is ModuleState.RUNNING
        await manager.shutdown()
