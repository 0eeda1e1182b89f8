"""The process heap: what a bot process does with the garbage collector once it is up.

A process's start-up leaves a large heap that lives as long as it does: the imported code of
trio, eth-account and the rest, the config, the message registry, a module's indexes and pool
states. CPython's full collections walk all of it, and each walk is a pause and a cache flush:
between two processes on the bus, 100 B messages at full rate, the collector's own callbacks
timed about 170 ms of each side's 0.85 s in collections before, about 30 ms after (the
sender's gen-2 walks alone went from 96 ms to none); on the scanner bench's heap (23k tracked
objects) a full collection took 8-10 ms before and under 0.1 ms after.
:func:`freeze_startup_heap` moves that heap into the collector's permanent generation, so later
collections walk only what was made since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Move everything alive now into the collector's permanent generation (after one full
    collection, so no start-up garbage is kept). Called by every bot process once its modules
    are up (:meth:`mevbot.runtime.bot.Bot.run`), by the scanner after it read its snapshot, and
    by the benchmarks before their workload, as the bot runs.

    Frozen objects are still freed by reference counting; only cyclic garbage among them would
    stay. The thresholds stay CPython's: a higher gen-0 threshold makes the pauses rarer but
    each one longer (a 20,000 threshold: 1.3 ms per young collection in the bus flood), and
    the scanner bench showed no gain in its p99 for it. Calling it again later freezes what
    was made in between (a module restarted, a snapshot re-read)."""
    gc.collect()
    gc.freeze()
