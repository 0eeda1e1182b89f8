"""when_idle: background work waits for the runnable tasks, but never forever."""

from __future__ import annotations

import trio

from mevbot.runtime.priority import HOT_PATH, hot_path, when_idle


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


async def test_background_work_waits_while_a_hot_path_section_waits_on_io():
    """A trade waiting for the node looks idle (every task blocked); background work must not
    start in that wait, only once the section has closed."""
    order: list[str] = []
    ours, node = trio.socket.socketpair()  # a real I/O wait, as the simulation's reply

    async def trade() -> None:
        with hot_path():
            order.append("simulation sent")
            await ours.recv(1)
            order.append("answered, signed, sent")
        order.append("section closed")

    async def background() -> None:
        await when_idle(5)
        order.append("background")

    with ours, node:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trade)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(background)
            # the longer cushion: background's own idle test (cushion 0) has been made first
            await trio.testing.wait_all_tasks_blocked(cushion=0.01)
            assert order == ["simulation sent"]  # without the section, "background" ran here
            await node.send(b"x")
    assert order == ["simulation sent", "answered, signed, sent", "section closed", "background"]


async def test_an_open_hot_path_section_delays_background_work_at_most_its_bound():
    with hot_path():
        started = trio.current_time()
        with trio.fail_after(2):
            await when_idle(0.05)
        assert trio.current_time() - started >= 0.05
    assert HOT_PATH.count == 0
