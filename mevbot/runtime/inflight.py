"""A count of work under way in this process, with waits for none of it to be.

The scheduler calls a task that waits on I/O blocked, so "every task is blocked" is not "the
process has nothing to do": a request may be waiting for its answer. Such a wait is counted
here, and a check that needs the whole truth asks for an idle loop *and* a zero count
(:meth:`InFlight.wait_idle`). Two counts use it: the RPC requests on the wire
(:data:`mevbot.rpc.inflight.RPC_IN_FLIGHT`, for the replay's settle check) and the trades in
their hot path (:data:`mevbot.runtime.priority.HOT_PATH`, for background work).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio.testing
from trio.lowlevel import ParkingLot


class InFlight:
    """How many pieces of work are started and not yet ended (one trio run at a time)."""

    def __init__(self) -> None:
        self.count = 0
        self._emptied = ParkingLot()

    def started(self) -> None:
        self.count += 1

    def ended(self) -> None:
        self.count -= 1
        if not self.count:
            self._emptied.unpark_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Counted for the ``with`` block."""
        self.started()
        try:
            yield
        finally:
            self.ended()

    async def wait_none(self) -> None:
        """Return once none is in flight (at once when none is)."""
        while self.count:
            await self._emptied.park()

    async def wait_idle(self, cushion: float = 0.0) -> None:
        """Return once no other task could run for ``cushion`` seconds
        (``trio.testing.wait_all_tasks_blocked``) while none is in flight; no checkpoint after
        that test, so the caller acts on what it saw."""
        while True:
            await trio.testing.wait_all_tasks_blocked(cushion)
            if not self.count:
                return
            await self.wait_none()  # then what the work woke runs, and is waited for again
