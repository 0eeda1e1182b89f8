"""Nonces: a local counter, one transaction per nonce, never a gap.

The counter starts from the account's ``pending`` transaction count. A nonce is taken under a
lock for the whole sign-and-send of one transaction, and the counter moves on only once the
node may have accepted it. A send the node refused outright (a node error other than the nonce
ones) gives the nonce back, so no gap is left; "nonce too low" or "too high" resynchronise from
the chain. Submissions are therefore serialised in the order they take the lock, which the
engine makes deterministic by submitting approved requests in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import trio

NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "already known", "replacement transaction underpriced")
NONCE_TOO_HIGH = ("nonce too high", "nonce is too high", "nonce gap")


def nonce_error_kind(message: str) -> str | None:
    text = message.lower()
    if any(m in text for m in NONCE_TOO_LOW):
        return "low"
    if any(m in text for m in NONCE_TOO_HIGH):
        return "high"
    return None


class NonceSlot:
    """One nonce held for one transaction; the manager reads how it ended."""

    def __init__(self, nonce: int) -> None:
        self.nonce = nonce
        self.outcome = "unused"  # "sent" (may have landed), "refused", "resync"

    def sent(self) -> None:
        self.outcome = "sent"

    def refused(self) -> None:
        self.outcome = "refused"

    def resync(self) -> None:
        self.outcome = "resync"


class NonceManager:
    def __init__(self, pending_count: Callable[[], Awaitable[int]]) -> None:
        self._pending_count = pending_count
        self._next: int | None = None
        self._lock = trio.Lock()
        self.resyncs = 0

    @property
    def next_nonce(self) -> int | None:
        return self._next

    async def sync(self) -> int:
        self._next = await self._pending_count()
        self.resyncs += 1
        return self._next

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[NonceSlot]:
        """Hold the next nonce for one sign-and-send; mark the slot with how the send ended.

        An uncontended lock is taken without a checkpoint (``async with lock`` always yields, and
        here that is a wait behind every runnable task between a simulation's answer and the
        signature); a contended one is waited for as usual."""
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()
        try:
            if self._next is None:
                await self.sync()
            slot = NonceSlot(self._next)
            try:
                yield slot
            finally:
                if slot.outcome == "sent":
                    self._next = slot.nonce + 1
                elif slot.outcome == "resync":
                    self._next = None  # read again from the chain before the next send
                # "unused" and "refused": the nonce stays free for the next transaction
        finally:
            self._lock.release()
