"""End-to-end acknowledgement of critical messages that arrived from a peer process.

A critical message counts as delivered only once this process has *handled* it, not once it is
queued here. The publisher keeps it in its journal (``pending``) until our ``Ack``; so we send
that Ack only when

* every ``ack="manual"`` subscription it was queued to has called :meth:`Subscription.ack`
  for it (the consumer finished with it: for execution, its ``exec.result`` is published), and
* at least one subscription *claimed* it: a manual one that acked it, or an ``ack="auto"`` one
  that can not lose it (not ``drop-oldest``: a monitor that may discard it handles nothing).
  An auto subscription claims it once it is queued there (the old timing, kept for consumers
  whose loss does not matter or that persist it themselves).

Why the publisher redelivers (and not a receiver-side inbox journal): the publisher already
journals every critical message before ``publish`` returns and resends what is pending on every
(re)connect, so holding back the Ack is all it takes to survive a kill -9 of the receiver; a
second journal at the receiver would add a write per message on the hot path and a second copy
to keep consistent, for the one case (publisher and receiver both lost) in which the message
could not have been redelivered before either. The receiver marks an id ``seen`` in its journal
only when it acknowledges it, so after a restart a redelivered message that was received but
never handled surfaces again, and one that was handled does not.

What arrives while no subscription here claims it (after a restart the links connect before the
modules subscribe; a crashed module's subscription is closed with messages it never acked) is
*held*: kept in memory, unacknowledged, and handed to the next subscription that matches it, in
arrival order, beyond that subscription's bound and overflow policy (it is already counted by the
publisher's journal). A message redelivered while held or queued unhandled is a duplicate: it is
neither surfaced again nor acknowledged before the original is handled.

A process that starts several modules gates the handover until all of them have subscribed
(``gated``, :meth:`CriticalHandover.open`: the bot opens it once every module has started).
Otherwise a redelivered message would go to whichever module subscribed first: the store, say,
would take and acknowledge a waiting ``exec.request`` before execution subscribed (so it would
never run), or execution would answer it before the store subscribed to ``exec.result`` (so the
result would never be stored). While gated everything critical from a peer is held; ``open``
hands each held message to *every* subscription that matches it, as a live delivery would.

In-process delivery (publisher and subscriber in one process, memory transport) needs no
acknowledgement: they share one fate. :meth:`Subscription.ack` of such an envelope does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mevbot.bus.envelope import Envelope
from mevbot.bus.protocol import Ack
from mevbot.bus.subscription import Overflow, Subscription
from mevbot.bus.topics import topic_matches

if TYPE_CHECKING:
    from mevbot.bus.bus import Bus
    from mevbot.bus.link import PeerLink


class _Unhandled:
    __slots__ = ("env", "link", "waiting", "claimed")

    def __init__(self, env: Envelope, link: PeerLink) -> None:
        self.env = env
        self.link = link  # who gets the Ack
        self.waiting: set[Subscription] = set()  # manual subscriptions that have it, not acked
        self.claimed = False

    @property
    def held(self) -> bool:
        return not self.waiting and not self.claimed


def claims(sub: Subscription) -> bool:
    """Whether queueing a message to ``sub`` can count towards handling it."""
    return sub.manual_ack or sub.overflow is not Overflow.DROP_OLDEST


class CriticalHandover:
    """The critical messages from peers that this process has not yet handled (by id)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.entries: dict[int, _Unhandled] = {}
        self.gated = False  # hold everything until open() (set by the bot while modules start)

    def holds(self, message_id: int) -> bool:
        """Received and not yet handled: a redelivery of it is a duplicate, not acknowledged yet."""
        return message_id in self.entries

    @property
    def held(self) -> int:
        return sum(1 for e in self.entries.values() if e.held)

    async def deliver(self, env: Envelope, link: PeerLink) -> bool:
        """Queue a critical ``env`` from ``link`` for the local subscriptions.

        Returns True when it counts as handled already (only auto subscriptions claimed it), so
        the caller acknowledges it with the rest of its batch; otherwise the Ack is sent when
        it is handled. If cancelled before it was queued anywhere, nothing is kept (the
        redelivery will surface it).
        """
        bus = self.bus
        if env.topic == bus.inbox:
            bus._resolve_reply(env)
            return True
        entry = self.entries[env.id] = _Unhandled(env, link)
        if self.gated:
            return False  # held: open() hands it to every subscription once all modules are up
        subs = bus._local_for(env.topic)
        for sub in subs:  # all of them before any consumer can run and ack
            if sub.manual_ack:
                entry.waiting.add(sub)
                sub.unacked += 1
        queued = False
        try:
            for i, sub in enumerate(subs):
                if not sub.offer(env):
                    await sub.put(env)
                if not sub.closed:
                    queued = True
                    if not sub.manual_ack and claims(sub):
                        entry.claimed = True
        except BaseException:
            for sub in subs[i:]:  # not queued there
                if sub in entry.waiting:
                    entry.waiting.discard(sub)
                    sub.unacked -= 1
            if not queued:
                if self.entries.get(env.id) is entry:
                    del self.entries[env.id]
            elif self._settle(entry):
                self._acknowledge_upstream(link, [env.id])
            raise
        return self._settle(entry)

    def _settle(self, entry: _Unhandled) -> bool:
        """True (and forgotten here) when ``entry`` is handled and not yet acknowledged."""
        if self.entries.get(entry.env.id) is not entry or entry.waiting or not entry.claimed:
            return False  # acknowledged already, still being handled, or held
        del self.entries[entry.env.id]
        return True

    def acknowledge(self, sub: Subscription, envs) -> None:
        """``sub`` has handled ``envs``: acknowledge those nobody else still handles."""
        done: dict[PeerLink, list[int]] = {}
        for env in envs:
            entry = self.entries.get(env.id)
            if entry is None or sub not in entry.waiting:
                continue  # in-process, auto-acknowledged, or acknowledged already
            entry.waiting.discard(sub)
            sub.unacked -= 1
            entry.claimed = True
            if self._settle(entry):
                done.setdefault(entry.link, []).append(env.id)
        for link, ids in done.items():
            self._acknowledge_upstream(link, ids)

    def release(self, sub: Subscription) -> None:
        """``sub`` closed: what it never acked is held again for the next subscriber."""
        if not sub.unacked:
            return
        done: dict[PeerLink, list[int]] = {}
        for entry in list(self.entries.values()):
            if sub in entry.waiting:
                entry.waiting.discard(sub)
                if self._settle(entry):
                    done.setdefault(entry.link, []).append(entry.env.id)
        sub.unacked = 0
        for link, ids in done.items():
            self._acknowledge_upstream(link, ids)

    def open(self) -> None:
        """End the start-up gate: each held message goes to every subscription that matches it
        (oldest first), then deliveries are live again."""
        self.gated = False
        done: dict[PeerLink, list[int]] = {}
        for entry in list(self.entries.values()):
            if not entry.held:
                continue
            for sub in self.bus._local_for(entry.env.topic):
                self._give(entry, sub)
            if self._settle(entry):
                done.setdefault(entry.link, []).append(entry.env.id)
        for link, ids in done.items():
            self._acknowledge_upstream(link, ids)

    def adopt(self, sub: Subscription) -> None:
        """A new subscription takes the held messages it matches, oldest first."""
        if self.gated:
            return  # open() hands them out, to every subscription at once
        done: dict[PeerLink, list[int]] = {}
        for entry in list(self.entries.values()):
            if not entry.held or not topic_matches(sub.pattern, entry.env.topic):
                continue
            self._give(entry, sub)
            if self._settle(entry):
                done.setdefault(entry.link, []).append(entry.env.id)
        for link, ids in done.items():
            self._acknowledge_upstream(link, ids)

    @staticmethod
    def _give(entry: _Unhandled, sub: Subscription) -> None:
        """Queue a held message to ``sub`` (beyond its bound: the publisher's journal counts it)
        and note whether ``sub`` must ack it or has claimed it by taking it."""
        sub.requeue(entry.env)
        if sub.manual_ack:
            entry.waiting.add(sub)
            sub.unacked += 1
        elif claims(sub):
            entry.claimed = True

    def _acknowledge_upstream(self, link: PeerLink, ids: list[int]) -> None:
        """Seen here first (a redelivery after our restart is then confirmed, never surfaced),
        then the Ack; it waits in the link's control queue while the peer is down."""
        journal = self.bus.journal
        if journal is not None:
            journal.mark_seen(ids)
        link.fast.enqueue_control(Ack(ids))
