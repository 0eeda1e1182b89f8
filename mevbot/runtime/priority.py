"""Background priority on one trio event loop: work that can wait runs when nothing else can.

trio has no task priorities: every runnable task gets one step per scheduler batch, in either
order. In one process the feed-to-transaction path (parser, pipeline, the scanner's decision,
risk, execution) shares the loop with work nobody waits for: the scanner sizing the opportunities
after the decision, the store turning messages into rows. Each of those steps that lands between
two hops of the hot path delays the trade by its length. :func:`when_idle` is the checkpoint such
work takes instead of a plain one: it returns once no other task is runnable (the scheduler's own
idle test, ``trio.testing.wait_all_tasks_blocked``: the I/O poll found nothing to run), or after
``max_wait_s`` at the latest, so a loop that never idles delays background work, never starves it.
"""

from __future__ import annotations

import trio
import trio.testing

#: The longest background work waits for an idle loop before it takes its turn anyway.
MAX_BACKGROUND_WAIT_S = 0.02


async def when_idle(max_wait_s: float = MAX_BACKGROUND_WAIT_S) -> None:
    """Yield until every other task is blocked, or ``max_wait_s`` has passed; a checkpoint."""
    with trio.move_on_after(max_wait_s):
        await trio.testing.wait_all_tasks_blocked()
