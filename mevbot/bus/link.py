"""A link to one peer process: lanes (connections), outbound buffering, reconnects, acks.

Each lane owns a bounded outbound queue that outlives its connections. Its writer takes every
queued frame (up to ``max_batch_bytes``) and hands them to the transport as one batch, so an
idle link sends a lone message at once and a busy one coalesces hundreds per write; its reader
decodes every frame of a received batch. A frame that fails to decode is dead-lettered with the
reason and the reader carries on. While a lane is down its queue keeps filling up to
``link_buffer``; beyond that (or past ``message_ttl_s``) messages are dead-lettered. Critical
messages never rely on that queue: they are in the journal and resent from it on every
(re)connect, and the receiver acknowledges them only once handled (mevbot/bus/handover.py),
journalling their ids as seen first.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import logging
import operator
import time
from typing import TYPE_CHECKING

import trio

from mevbot.bus.envelope import Envelope, make_envelope
from mevbot.bus.errors import MessageDecodeError
from mevbot.bus.protocol import LINK_TOPIC, Ack, Hello, Interest
from mevbot.bus.topics import topic_matches
from transports.base import MessageStream, Transport
from transports.errors import ConnectFailed, FrameError, HandshakeError, StreamClosed

if TYPE_CHECKING:
    from mevbot.bus.bus import Bus

log = logging.getLogger("mevbot.bus.link")

FAST = "fast"
BULK = "bulk"
MAX_BATCH_ITEMS = 4096
_env_of = operator.itemgetter(0)  # of a queued (envelope, frame, critical) item
_frame_of = operator.itemgetter(1)
_created_ns = operator.attrgetter("created_ns")


class Lane:
    """One connection's worth of a link: an outbound queue and the session using it."""

    def __init__(self, link: PeerLink, name: str) -> None:
        self.link = link
        self.name = name
        self.out: collections.deque = collections.deque()  # (envelope, frame | None, critical)
        # link control (Interest, Ack) leaves before queued data, in the order it was made
        self.control: collections.deque[Envelope] = collections.deque()
        self._wake = trio.lowlevel.ParkingLot()
        self.parked = False  # the writer waits on _wake (a plain flag: publishers test it per message)
        self._room = trio.lowlevel.ParkingLot()
        self.max_batch_items = MAX_BATCH_ITEMS  # 1 = one write per message (benchmarks only)
        self.stream: MessageStream | None = None
        self.serialises = True
        self.sent = 0
        self.received = 0
        self.batches = 0
        self.bytes_sent = 0
        self._max_taken = 0  # the longest the queue was when the writer or a new session took from it
        self.dead_lettered = 0
        self.refused = 0  # messages a read-only (monitoring) peer tried to publish
        self.sessions = 0

    @property
    def connected(self) -> bool:
        return self.stream is not None

    def full(self) -> bool:
        return len(self.out) >= self.link.bus.settings.link_buffer

    async def wait_room(self) -> None:
        """Backpressure: while this lane is connected and full, the publisher waits."""
        while self.stream is not None and len(self.out) >= self.link.bus.settings.link_buffer:
            await self._room.park()

    def enqueue(self, env: Envelope, frame: bytes | None, critical: bool) -> None:
        out = self.out
        if len(out) >= self.link.bus.settings.link_buffer:
            if critical:
                return  # journalled: resent from the journal when the peer is back
            self.dead_lettered += 1
            self.link.bus.dlq.add(f"undeliverable: buffer for peer {self.link.peer!r} full "
                                  f"({len(out)} queued while {'up' if self.connected else 'down'})",
                                  envelope=env, origin=f"link:{self.link.peer}/{self.name}")
            return
        out.append((env, frame, critical))
        if self.parked:
            self.wake()

    @property
    def max_queued(self) -> int:
        """The most items this lane has held queued. Items leave the queue only where the writer
        or a new session takes them, which note its length first, so this is the larger of that
        note and the length now, with no bookkeeping per message queued."""
        return max(self._max_taken, len(self.out))

    def wake(self) -> None:
        """Let the waiting writer run (publishers call it when they queue for an idle lane)."""
        self.parked = False
        self._wake.unpark()

    def enqueue_control(self, payload) -> None:
        """Queue a link message ahead of data. Control keeps its own order (an Interest queued
        after another must arrive after it), and a newer Interest replaces a queued one."""
        bus = self.link.bus
        env = make_envelope(LINK_TOPIC, payload, *bus.type_of(payload), bus.process)
        if isinstance(payload, Interest):
            self._drop_queued_interest()
        self.control.append(env)
        if self.parked:
            self.wake()

    def _drop_queued_interest(self) -> None:
        for env in [env for env in self.control if isinstance(env.payload, Interest)]:
            self.control.remove(env)

    async def run_session(self, stream: MessageStream, serialises: bool,
                          first_batch: list | None = None) -> None:
        """Serve one connection until it closes; raises what ended it."""
        bus = self.link.bus
        self.serialises = serialises
        if self.stream is not None:
            log.info("link %s/%s: replacing the previous connection", self.link.peer, self.name)
            await self.stream.aclose()
        self.stream = stream
        self.sessions += 1
        # Critical messages come from the journal, in order, ahead of anything else queued.
        self._max_taken = self.max_queued
        self.out = collections.deque(item for item in self.out if not item[2])
        self._drop_queued_interest()  # the Hello below carries the current subscriptions
        hello = Hello(bus.process, self.name, bus.local_patterns())
        frames_first = [self._frame(make_envelope(LINK_TOPIC, hello, *bus.type_of(hello), bus.process))]
        if self.name == FAST and bus.journal is not None:
            for raw in bus.journal.pending(self.link.peer):
                frames_first.append(raw if serialises else bus.codec.decode(raw))
        ended: list[BaseException] = []

        async def until_closed(fn, *args) -> None:
            try:
                await fn(*args)
            except (StreamClosed, FrameError, HandshakeError) as exc:
                ended.append(exc)
                nursery.cancel_scope.cancel()

        try:
            await stream.send_batch(frames_first)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(until_closed, self._write_loop, stream)
                nursery.start_soon(until_closed, self._read_loop, stream, first_batch)
        finally:
            if self.stream is stream:
                self.stream = None
                self._room.unpark_all()  # now buffering for a down peer: bounded, then dead letters
            await stream.aclose()
        if ended:
            raise ended[0]

    async def _read_loop(self, stream: MessageStream, first_batch: list | None) -> None:
        if first_batch:
            await self._handle_batch(first_batch)
        while True:
            await self._handle_batch(await stream.receive_batch())

    def _frame(self, env: Envelope):
        return self.link.bus.codec.encode(env) if self.serialises else env

    async def _write_loop(self, stream: MessageStream) -> None:
        bus = self.link.bus
        max_bytes = bus.settings.max_batch_bytes
        ttl_ns = int(bus.settings.message_ttl_s * 1e9)
        encode = bus.codec.encode
        serialises = self.serialises
        out = self.out
        while True:
            if self.out is not out:
                out = self.out
            control = self.control
            while not out and not control:
                self.parked = True
                try:
                    await self._wake.park()
                finally:
                    self.parked = False
                out = self.out
            frames = [encode(control.popleft()) if serialises else control.popleft()
                      for _ in range(len(control))]
            count = min(len(out), self.max_batch_items - len(frames))
            if count > 1 and serialises and out[0][1] is not None:
                # no more than fit in max_bytes if the rest are the size of the first: taking the
                # whole queue only to put most of it back cost a pass over every item per write
                count = min(count, max_bytes // (len(out[0][1]) or 1) + 1)
            if len(out) > self._max_taken:
                self._max_taken = len(out)
            if count == len(out):
                taken = list(out)
                out.clear()
            else:
                popleft = out.popleft
                taken = [popleft() for _ in range(count)]
            size = 0
            if taken:
                oldest_ok = time.time_ns() - ttl_ns
                size = self._frames_of(taken, frames, serialises, oldest_ok, max_bytes)
            if self._room:
                self._room.unpark_all()
            if not frames:
                continue
            try:
                await stream.send_batch(frames)
            except BaseException:
                # not known to have arrived: keep non-critical ones for the next connection
                out.extendleft(reversed([t for t in taken if not t[2]]))
                raise
            self.sent += len(frames)
            self.batches += 1
            self.bytes_sent += size

    def _frames_of(self, taken: list, frames: list, serialises: bool, oldest_ok: int,
                   max_bytes: int) -> int:
        """Append the frames of ``taken`` (queued items, oldest first) to ``frames``, up to
        ``max_bytes``; items past the limit go back to the front of the queue and expired ones
        are dead-lettered (both removed from ``taken``). Returns the bytes appended.

        The common batch (nothing expired, every frame encoded) is handled by C-level
        ``map``/``accumulate`` passes instead of a Python loop per message.
        """
        try:
            if serialises and min(map(_created_ns, map(_env_of, taken))) >= oldest_ok:
                sizes = list(itertools.accumulate(map(len, map(_frame_of, taken))))
                if sizes[-1] >= max_bytes:
                    keep = bisect.bisect_left(sizes, max_bytes) + 1
                    if keep < len(taken):
                        self.out.extendleft(reversed(taken[keep:]))
                        del taken[keep:]
                frames.extend(map(_frame_of, taken))
                return sizes[len(taken) - 1]
        except TypeError:  # a frame not encoded yet (queued while the lane carried objects)
            pass
        bus = self.link.bus
        encode = bus.codec.encode
        size = 0
        kept = []
        for at, item in enumerate(taken):
            env, frame, critical = item
            if env.created_ns < oldest_ok and not critical:
                self.dead_lettered += 1
                bus.dlq.add(f"expired: waited over {bus.settings.message_ttl_s} s for peer "
                            f"{self.link.peer!r}", envelope=env, origin=f"link:{self.link.peer}")
                continue
            if serialises:
                if frame is None:
                    frame = encode(env)
                frames.append(frame)
                size += len(frame)
            else:
                frames.append(env)
            kept.append(item)
            if size >= max_bytes:
                self.out.extendleft(reversed(taken[at + 1:]))
                break
        taken[:] = kept
        return size

    async def _handle_batch(self, frames: list) -> None:
        """Decode a received batch and hand it over; consecutive messages on one topic go to
        the subscriptions as one run (one queue operation and one wakeup per run)."""
        bus = self.link.bus
        self.received += len(frames)
        if self.link.read_only:
            self._handle_monitor_batch(frames)
            return
        critical_ids: list[int] = []
        if self.serialises:
            failed: list = []
            envs = bus.codec.decode_many(frames, failed)
            for frame, exc in failed:
                bus.dlq.add(f"undecodable: {exc}", raw=bytes(frame),
                            origin=f"link:{self.link.peer}/{self.name}")
        else:
            envs = frames
        critical_topics = bus._critical
        run_topic = None
        run: list[Envelope] = []
        try:
            for env in envs:
                topic = env.topic
                if topic == run_topic:
                    run.append(env)
                    continue
                if run:
                    ready, run = run, []
                    await bus.deliver_remote_many(run_topic, ready)
                run_topic = None
                if topic == LINK_TOPIC:
                    self._handle_control(env.payload)
                    continue
                critical = critical_topics.get(topic)
                if critical is None:
                    critical = bus.is_critical(topic)
                if critical:
                    if bus.handover.holds(env.id):
                        bus.duplicates += 1  # received, not handled yet: acknowledged once it is
                        continue
                    if env.id in self.link.recent_ids or (bus.journal and bus.journal.seen(env.id)):
                        critical_ids.append(env.id)  # a redelivery: confirm again, surface never
                        bus.duplicates += 1
                        continue
                    if await bus.handover.deliver(env, self.link):
                        critical_ids.append(env.id)
                    self.link.remember(env.id)
                else:
                    run_topic = topic
                    run.append(env)
            if run:
                ready, run = run, []
                await bus.deliver_remote_many(run_topic, ready)
        finally:
            # also when cancelled mid-batch (peer gone): whatever was handed over is recorded
            if critical_ids:
                if bus.journal is not None:
                    bus.journal.mark_seen(critical_ids)
                self.enqueue_control(Ack(critical_ids))

    def _handle_monitor_batch(self, frames: list) -> None:
        """A monitoring client's frames: link control is obeyed, anything else refused."""
        bus = self.link.bus
        for frame in frames:
            try:
                env = bus.codec.decode(frame) if self.serialises else frame
            except MessageDecodeError as exc:
                bus.dlq.add(f"undecodable: {exc}", raw=bytes(frame),
                            origin=f"link:{self.link.peer}/{self.name}")
                continue
            if env.topic == LINK_TOPIC:
                self._handle_control(env.payload)
                continue
            self.refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning("link %s: refused %d message(s) from a read-only monitoring client "
                            "(last on %r): monitors may not publish", self.link.peer,
                            self.refused, env.topic)

    def _handle_control(self, payload) -> None:
        link = self.link
        if isinstance(payload, Hello):
            link.set_interest(payload.patterns)
        elif isinstance(payload, Interest):
            link.set_interest(payload.patterns)
        elif isinstance(payload, Ack):
            if link.bus.journal is not None:
                link.bus.journal.ack(link.peer, payload.ids)
            link.acked += len(payload.ids)

    def stats(self) -> dict:
        return {"connected": self.connected, "queued": len(self.out) + len(self.control),
                "max_queued": self.max_queued,
                "sent": self.sent, "received": self.received, "batches": self.batches,
                "bytes_sent": self.bytes_sent, "dead_lettered": self.dead_lettered,
                "refused": self.refused, "sessions": self.sessions}


class PeerLink:
    """Everything this process knows about one peer process."""

    def __init__(self, bus: Bus, peer: str, transport: str = "?", address: str = "",
                 reason: str = "", *, read_only: bool = False) -> None:
        self.bus = bus
        self.peer = peer
        self.read_only = read_only  # a monitoring client: receives, may not publish (Bus.serve)
        self.transport = transport
        self.address = address
        self.reason = reason
        self.lanes = {FAST: Lane(self, FAST), BULK: Lane(self, BULK)}
        self.fast, self.bulk = self.lanes[FAST], self.lanes[BULK]
        self.patterns: tuple[str, ...] = ()
        self._wants: dict[str, bool] = {}
        self.recent_ids: set[int] = set()
        self._recent_order: collections.deque[int] = collections.deque()
        self.acked = 0
        self.failovers = 0
        self.connect_failures = 0
        if bus.journal is not None and not read_only:
            self.patterns = tuple(bus.journal.interest().get(peer, ()))

    def set_interest(self, patterns: list[str]) -> None:
        if tuple(patterns) != self.patterns:
            self.patterns = tuple(patterns)
            self._wants.clear()
            self.bus._interest_changed()
            if self.bus.journal is not None and not self.read_only:
                self.bus.journal.save_interest(self.peer, list(patterns))
            log.info("link %s: peer subscribes to %s", self.peer, ", ".join(patterns) or "nothing")

    def wants(self, topic: str) -> bool:
        wanted = self._wants.get(topic)
        if wanted is None:
            wanted = self._wants[topic] = any(topic_matches(p, topic) for p in self.patterns)
        return wanted

    def remember(self, message_id: int) -> None:
        self.recent_ids.add(message_id)
        self._recent_order.append(message_id)
        if len(self._recent_order) > 100_000:
            self.recent_ids.discard(self._recent_order.popleft())

    def lane_for(self, frame: bytes | None, critical: bool) -> Lane:
        """The lane a message takes: bulk for large frames or when the fast lane is backed up."""
        settings = self.bus.settings
        fast, bulk = self.lanes[FAST], self.lanes[BULK]
        lane = fast
        if not critical and bulk.connected:
            if frame is not None and len(frame) > settings.large_message_bytes:
                lane = bulk
            elif len(fast.out) > settings.failover_depth:
                self.failovers += 1
                lane = bulk
        return lane

    def enqueue(self, env: Envelope, frame: bytes | None, critical: bool) -> None:
        self.lane_for(frame, critical).enqueue(env, frame, critical)

    def send_interest(self, patterns: list[str]) -> None:
        for lane in self.lanes.values():
            if lane.connected:
                lane.enqueue_control(Interest(patterns))

    async def dial_forever(self, transport: Transport, address: str, lane_name: str = FAST) -> None:
        """Connect, serve, and reconnect with backoff; never returns (cancel to stop)."""
        settings = self.bus.settings
        lane = self.lanes[lane_name]
        delay = settings.reconnect_backoff_s
        failures = 0
        while True:
            try:
                stream = await transport.connect(address)
            except (ConnectFailed, HandshakeError, OSError, trio.TooSlowError) as exc:
                failures += 1
                self.connect_failures += 1
                if failures == 1 or failures % 100 == 0:
                    log.warning("link %s/%s: cannot reach %s %s (%d tries): %s; retrying",
                                self.peer, lane_name, transport.name, address, failures, exc)
                await trio.sleep(delay)
                delay = min(delay * 2, settings.reconnect_backoff_max_s)
                continue
            if failures:
                log.info("link %s/%s: connected to %s after %d failed tries", self.peer, lane_name,
                         address, failures)
            failures = 0
            delay = settings.reconnect_backoff_s
            try:
                await lane.run_session(stream, transport.serialises)
            except (StreamClosed, FrameError, HandshakeError) as exc:
                log.warning("link %s/%s: connection to %s lost: %s", self.peer, lane_name, address, exc)
            await trio.sleep(delay)

    def stats(self) -> dict:
        return {"peer": self.peer, "transport": self.transport, "address": self.address,
                "reason": self.reason, "read_only": self.read_only,
                "patterns": list(self.patterns), "acked": self.acked,
                "failovers": self.failovers, "connect_failures": self.connect_failures,
                "pending_critical": (self.bus.journal.pending_count(self.peer)
                                     if self.bus.journal is not None else 0),
                "lanes": {name: lane.stats() for name, lane in self.lanes.items()}}
