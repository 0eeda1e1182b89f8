"""How many of this process's RPC requests are on the wire, waiting for their answers.

A task waiting for a node's reply looks idle to the scheduler, yet the work it does for an event
is not done. The replay's settle check (:mod:`mevbot.replay.settle`) waits here for none to be
in flight before it calls a process idle; a slow node's answer can no longer let the next
replayed event in while a module still waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from trio.lowlevel import ParkingLot


class RequestsInFlight:
    """A count of requests sent and not yet answered, failed or given up, with a wait for zero."""

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
    def request(self) -> Iterator[None]:
        self.started()
        try:
            yield
        finally:
            self.ended()

    async def wait_none(self) -> None:
        """Return once no request is in flight (at once when none is)."""
        while self.count:
            await self._emptied.park()


#: Every RpcClient and WebSocket call connection of the process counts here.
RPC_IN_FLIGHT = RequestsInFlight()
