"""A subscription: a bounded queue of envelopes with its own overflow policy.

Not a trio memory channel because channels cannot drop their oldest item, and because one wakeup
per batch (not per message) is what lets a consumer keep up with a socket reader that hands over
hundreds of messages at once. Producers call :meth:`Subscription.offer` (never blocks) or
:meth:`Subscription.put` (blocks while full under ``Overflow.BLOCK``).

``ack="manual"`` subscriptions confirm each critical message from a peer with :meth:`ack` once
they have handled it; only then is it acknowledged to its publisher (mevbot/bus/handover.py).
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable

import trio

from mevbot.bus.envelope import Envelope, current_trace


class Overflow(enum.Enum):
    BLOCK = "block"  # the publisher waits: backpressure
    DROP_OLDEST = "drop-oldest"  # the oldest queued message is discarded and counted
    DEAD_LETTER = "dead-letter"  # the new message goes to the dead letter queue


class Subscription:
    """Messages matching ``pattern``; iterate it (``async for env in sub``) or take batches."""

    def __init__(self, pattern: str, *, maxlen: int, overflow: Overflow, name: str,
                 on_close: Callable[[Subscription], None],
                 dead_letter: Callable[[Envelope, str, str], None], manual_ack: bool = False,
                 on_ack: Callable[[Subscription, tuple[Envelope, ...]], None] | None = None) -> None:
        self.pattern = pattern
        self.manual_ack = manual_ack
        self._on_ack = on_ack
        self.unacked = 0  # critical messages from peers queued or taken here, not yet acked
        self.maxlen = maxlen
        self.overflow = overflow
        self.name = name or pattern
        self._items: collections.deque[Envelope] = collections.deque()
        self._readers = trio.lowlevel.ParkingLot()
        self._writers = trio.lowlevel.ParkingLot()
        self._on_close = on_close
        self._dead_letter = dead_letter
        self.closed = False
        self.delivered = 0
        self.dropped = 0
        self.dead_lettered = 0
        self.max_depth = 0

    @property
    def depth(self) -> int:
        return len(self._items)

    def offer(self, env: Envelope) -> bool:
        """Queue ``env`` now; False when full under BLOCK (the caller must :meth:`put`)."""
        items = self._items
        if len(items) >= self.maxlen:
            if self.overflow is Overflow.BLOCK:
                return False
            if self.overflow is Overflow.DROP_OLDEST:
                items.popleft()
                self.dropped += 1
            else:
                self.dead_lettered += 1
                self._dead_letter(env, f"subscription {self.name!r} full ({self.maxlen} queued)", self.name)
                return True
        items.append(env)
        if len(items) > self.max_depth:
            self.max_depth = len(items)
        if self._readers:
            self._readers.unpark()
        return True

    def offer_many(self, envs: list[Envelope]) -> int:
        """:meth:`offer` each of ``envs`` in order, in one step; returns how many were taken.

        Fewer than all only under BLOCK when the queue fills: the caller must :meth:`put` the rest.
        """
        items = self._items
        room = self.maxlen - len(items)
        count = len(envs)
        taken = count
        if count <= room:
            items.extend(envs)
        elif self.overflow is Overflow.BLOCK:
            taken = max(room, 0)
            items.extend(envs[:taken])
        elif self.overflow is Overflow.DROP_OLDEST:
            items.extend(envs)
            excess = len(items) - self.maxlen
            for _ in range(excess):
                items.popleft()
            self.dropped += excess
        else:
            accepted = max(room, 0)
            items.extend(envs[:accepted])
            for env in envs[accepted:]:
                self.dead_lettered += 1
                self._dead_letter(env, f"subscription {self.name!r} full ({self.maxlen} queued)", self.name)
        if len(items) > self.max_depth:
            self.max_depth = len(items)
        if self._readers and items:
            self._readers.unpark(count=len(items))
        return taken

    def requeue(self, env: Envelope) -> None:
        """Queue a held critical message regardless of the bound and the overflow policy (the
        publisher's journal already bounds them; dropping one here would lose it)."""
        self._items.append(env)
        if len(self._items) > self.max_depth:
            self.max_depth = len(self._items)
        if self._readers:
            self._readers.unpark()

    def ack(self, *envs: Envelope) -> None:
        """``envs`` (taken from this subscription) are handled: a critical message from a peer is
        acknowledged to its publisher once every manual subscription that got it has said so.
        Does nothing for an auto subscription or an in-process message."""
        if self.manual_ack and self._on_ack is not None:
            self._on_ack(self, envs)

    async def put(self, env: Envelope) -> None:
        """Queue ``env``, waiting for room under BLOCK.

        A cancellation never strikes after the envelope is queued, so a caller that is cancelled
        knows it was not delivered (critical-message acknowledgement relies on that).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self.offer(env):
            if self.closed:
                return
            await self._writers.park()

    async def receive_batch(self, max_items: int = 1024) -> list[Envelope]:
        """Wait for at least one envelope; return up to ``max_items`` in arrival order."""
        items = self._items
        while not items:
            if self.closed:
                raise trio.EndOfChannel(f"subscription {self.name!r} is closed")
            await self._readers.park()
        await trio.lowlevel.checkpoint_if_cancelled()
        if len(items) <= max_items:
            batch = list(items)
            items.clear()
        else:
            batch = [items.popleft() for _ in range(max_items)]
        self.delivered += len(batch)
        if self._writers:
            self._writers.unpark_all()
        current_trace.set(batch[-1].trace_id)
        return batch

    async def receive(self) -> Envelope:
        items = self._items
        while not items:
            if self.closed:
                raise trio.EndOfChannel(f"subscription {self.name!r} is closed")
            await self._readers.park()
        await trio.lowlevel.checkpoint_if_cancelled()
        self.delivered += 1
        env = items.popleft()
        if self._writers:
            self._writers.unpark()
        current_trace.set(env.trace_id)
        return env

    def __aiter__(self):
        return self

    async def __anext__(self) -> Envelope:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._readers.unpark_all()
            self._writers.unpark_all()
            self._on_close(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def stats(self) -> dict:
        return {"pattern": self.pattern, "name": self.name, "overflow": self.overflow.value,
                "maxlen": self.maxlen, "depth": self.depth, "max_depth": self.max_depth,
                "delivered": self.delivered, "dropped": self.dropped,
                "dead_lettered": self.dead_lettered,
                "ack": "manual" if self.manual_ack else "auto", "unacked": self.unacked}
