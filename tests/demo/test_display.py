"""The demo's display: its last frame, after the bot stopped, under a real module manager."""

from __future__ import annotations

from types import SimpleNamespace

import trio
import trio.testing

from mevbot.demo.session import DemoStats, render
from mevbot.runtime.manager import ModuleManager, ModuleState
from mevbot.runtime.module import Module
from mevbot.runtime.settings import RuntimeSettings


class Idle(Module):
    """Runs until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        ctx.health.ok("working")
        await trio.sleep_forever()


class Crasher(Module):
    name = "crasher"

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        await trio.sleep(0)
        raise ValueError("boom")


def frame_lines(manager: ModuleManager, *, finished: bool, elapsed_s: float = 20.0, feed_messages: int = 0
                ) -> list[str]:
    bot = SimpleNamespace(manager=manager)  # render reads the bot's manager only
    stats = DemoStats(executor="0xexecutor")
    stats.counts["feed_messages"] = feed_messages
    return render(bot, stats, elapsed_s, finished=finished).splitlines()


def test_the_feed_rate_is_shown_only_once_a_second_has_passed():
    manager = ModuleManager([Idle("scanner")])
    assert frame_lines(manager, finished=False, elapsed_s=0.04, feed_messages=2)[1].startswith("feed 2 msgs (-/s)")
    assert frame_lines(manager, finished=False, elapsed_s=4.0, feed_messages=10)[1].startswith("feed 10 msgs (2.5/s)")


async def test_the_last_frame_says_the_run_is_over_not_that_the_stopped_modules_degrade_the_bot():
    manager = ModuleManager([Idle("scanner"), Idle("risk")])
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        assert "bot ok" in frame_lines(manager, finished=False)[0]
        await manager.shutdown()
    assert all(s.state is ModuleState.STOPPED for s in manager.statuses())
    # while the bot runs, a stopped module does degrade it: the live frames keep saying so
    assert "bot degraded" in frame_lines(manager, finished=False)[0]

    lines = frame_lines(manager, finished=True)
    assert lines[0].endswith("bot stopped: the run is over")
    table = lines[lines.index(next(line for line in lines if line.startswith("MODULE"))) + 1:]
    assert [line.split()[:3] for line in table] == [["scanner", "stopped", "-"], ["risk", "stopped", "-"]]
    assert "degraded" not in "\n".join(lines)


async def test_the_last_frame_names_a_module_that_failed_before_the_end():
    manager = ModuleManager([Crasher(), Idle("risk")], runtime=RuntimeSettings(restart_limit=0))
    async with trio.open_nursery() as nursery:
        await nursery.start(manager.run)
        await trio.testing.wait_all_tasks_blocked()  # it crashed, with no restart left
        assert manager.status_of("crasher").state is ModuleState.FAILED
        await manager.shutdown()
    headline = frame_lines(manager, finished=True)[0]
    assert "bot stopped: the run is over; failed before the end: crasher (" in headline
    assert "ValueError: boom" in headline
