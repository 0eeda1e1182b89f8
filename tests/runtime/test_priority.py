"""when_idle: background work waits for the runnable tasks, but never forever."""

from __future__ import annotations

import trio

from mevbot.runtime.priority import when_idle


async def test_background_work_runs_after_every_runnable_task():
    order: list[str] = []

    async def hot(name: str) -> None:
        for step in range(3):
            order.append(f"{name}{step}")
            await trio.lowlevel.checkpoint()

    async def background() -> None:
        await when_idle()
        order.append("background")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(background)
        nursery.start_soon(hot, "a")
        nursery.start_soon(hot, "b")
    assert order[-1] == "background" and len(order) == 7
    # with a plain checkpoint it would have run in the first batch, among the hot steps


async def test_a_loop_that_never_idles_delays_background_work_but_does_not_starve_it():
    async def busy() -> None:
        while True:
            await trio.lowlevel.checkpoint()  # always runnable: the loop is never idle

    async with trio.open_nursery() as nursery:
        nursery.start_soon(busy)
        started = trio.current_time()
        with trio.fail_after(2):
            await when_idle(0.05)
        waited = trio.current_time() - started
        nursery.cancel_scope.cancel()
    assert waited >= 0.05  # it waited for idle, up to its bound
