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
step it had started (a bench/e2e.py monolithic run traced with an ad-hoc trio Instrument, not
a bench row: other tasks' steps filled 1.9 ms of a 2.2 ms simulation's wall time, p50). :func:`hot_path` marks such a wait, from a request taken to its
transaction sent.
"""

from __future__ import annotations

import contextlib

import trio

from mevbot.runtime.inflight import InFlight

#: The longest background work waits for an idle loop before it takes its turn anyway.
MAX_BACKGROUND_WAIT_S = 0.02

#: The trades in their hot path (:func:`hot_path`): background work waits for none.
HOT_PATH = InFlight()


def hot_path() -> contextlib.AbstractContextManager[None]:
    """Mark latency-critical work that waits on I/O (a trade's simulation and send): background
    work (:func:`when_idle`) does not start while it is open."""
    return HOT_PATH.held()


async def when_idle(max_wait_s: float | None = None) -> None:
    """Yield until every other task is blocked and no hot-path section is open, or ``max_wait_s``
    (default :data:`MAX_BACKGROUND_WAIT_S`) has passed; a checkpoint."""
    with trio.move_on_after(MAX_BACKGROUND_WAIT_S if max_wait_s is None else max_wait_s):
        await HOT_PATH.wait_idle()  # after a trade, what it woke goes first
