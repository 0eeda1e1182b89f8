"""Background priority on one trio event loop: work that can wait runs when nothing else can.

trio has no task priorities: every runnable task gets one step per scheduler batch, in either
order. In one process the feed-to-transaction path (parser, pipeline, the scanner's decision,
risk, execution) shares the loop with work nobody waits for: the scanner sizing the opportunities
after the decision, the store turning messages into rows. Each of those steps that lands between
two hops of the hot path delays the trade by its length. :func:`when_idle` is the checkpoint such
work takes instead of a plain one: it returns once no other task is runnable (the scheduler's own
idle test, ``trio.testing.wait_all_tasks_blocked``: the I/O poll found nothing to run) and no
:func:`hot_path` section is open, or after ``max_wait_s`` at the latest, so a loop that never
idles delays background work, never starves it.

The hot path's own waits look idle: while execution waits for the node to answer its simulation,
every task is blocked, so background work used to start then, and the answer waited for the
step it had started (bench/e2e.py, monolithic: other tasks' steps filled 1.9 ms of a 2.2 ms
simulation's wall time, p50). :func:`hot_path` marks such a wait, from a request taken to its
transaction sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import trio
import trio.testing

#: The longest background work waits for an idle loop before it takes its turn anyway.
MAX_BACKGROUND_WAIT_S = 0.02


class HotPath:
    """How many :func:`hot_path` sections are open in this process (one trio run at a time)."""

    def __init__(self) -> None:
        self.open = 0
        self._closed = trio.lowlevel.ParkingLot()

    @contextlib.contextmanager
    def section(self) -> Iterator[None]:
        self.open += 1
        try:
            yield
        finally:
            self.open -= 1
            if not self.open:
                self._closed.unpark_all()

    async def wait_closed(self) -> None:
        while self.open:
            await self._closed.park()


HOT_PATH = HotPath()


def hot_path() -> contextlib.AbstractContextManager[None]:
    """Mark latency-critical work that waits on I/O (a trade's simulation and send): background
    work (:func:`when_idle`) does not start while it is open."""
    return HOT_PATH.section()


async def when_idle(max_wait_s: float | None = None) -> None:
    """Yield until every other task is blocked and no hot-path section is open, or ``max_wait_s``
    (default :data:`MAX_BACKGROUND_WAIT_S`) has passed; a checkpoint."""
    with trio.move_on_after(MAX_BACKGROUND_WAIT_S if max_wait_s is None else max_wait_s):
        while True:
            await trio.testing.wait_all_tasks_blocked()
            if not HOT_PATH.open:
                return
            await HOT_PATH.wait_closed()  # then idle again: what the hot path woke goes first
