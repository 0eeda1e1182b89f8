"""The message bus of one process: local pub/sub, request/reply, and links to peer processes.

Modules get it as ``ctx.bus``. ``publish`` wraps a registered attrs payload in an
:class:`Envelope` and hands it to every matching local subscription (in-process: the object
itself, never serialised) and to every peer link whose remote subscriptions match (encoded once).
Critical topics are journalled in SQLite before ``publish`` returns and delivered at least once;
one from a peer is acknowledged to it only once handled here (``subscribe(..., ack="manual")``
and :meth:`Subscription.ack`; see mevbot/bus/handover.py, journal.py and link.py). Nothing here
is fire-and-forget: links and listeners run in the nursery of :meth:`Bus.run`.
"""

from __future__ import annotations

import functools
import itertools
import logging
import ssl
import time
from collections.abc import Sequence
from typing import Any

import trio

from mevbot.bus import protocol  # noqa: F401  (registers the link messages)
from mevbot.bus.codec import _MASK64, Codec
from mevbot.bus.deadletter import DeadLetterQueue
from mevbot.bus.envelope import _BOOT_PREFIX, _COUNTER, Envelope, format_id
from mevbot.bus.errors import JournalError, MessageDecodeError, NoResponder, PlacementError, RequestTimeout
from mevbot.bus.handover import CriticalHandover
from mevbot.bus.journal import Journal
from mevbot.bus.link import BULK, FAST, PeerLink
from mevbot.bus.protocol import Hello
from mevbot.bus.registry import MESSAGES, MessageRegistry
from mevbot.bus.router import listen_endpoints, plan_routes, websocket_problems
from mevbot.bus.settings import BusSettings, DeploySettings
from mevbot.bus.subscription import Overflow, Subscription
from mevbot.bus.topics import topic_matches, validate_pattern, validate_topic
from transports.base import MessageStream, Transport
from transports.errors import FrameError, HandshakeError, StreamClosed

log = logging.getLogger("mevbot.bus")

INBOX_PREFIX = "_inbox"
MONITOR_PREFIX = "monitor:"
YIELD_EVERY = 128
_BOOT_HIGH = _BOOT_PREFIX >> 64  # the high half of every id this process makes


class _ReplySlot:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.reply: Envelope | None = None


class Bus:
    def __init__(self, settings: BusSettings | None = None, *, process: str = "main",
                 deploy: DeploySettings | None = None, registry: MessageRegistry = MESSAGES,
                 journal: Journal | None = None) -> None:
        self.settings = settings or BusSettings()
        self.process = process
        self.deploy = deploy
        self.registry = registry
        self.codec = Codec(registry)
        self.dlq = DeadLetterQueue(self.settings.dlq_size)
        self.journal = journal
        self.handover = CriticalHandover(self)
        self.links: dict[str, PeerLink] = {}
        self.inbox = f"{INBOX_PREFIX}.{process}"
        self._subs: list[Subscription] = []
        self._local: dict[str, tuple[Subscription, ...]] = {}
        self._remote: dict[str, tuple[PeerLink, ...]] = {}
        # topic -> (links, subscriptions, critical, plans by payload type, last type, its plan)
        self._routes: dict[str, tuple] = {}
        self._critical: dict[str, bool] = {}
        self._types: dict[type, tuple[str, int]] = {}
        self._valid_topics: set[str] = set()
        self._replies: dict[int, _ReplySlot] = {}
        self._correlation = itertools.count(1)
        self._since_yield = 0
        # publish's fast path reads these per message, so not through self.settings
        self._link_buffer = self.settings.link_buffer
        self._failover_depth = self.settings.failover_depth
        self._fast_frame_bytes = min(self.settings.max_frame_bytes, self.settings.large_message_bytes)
        self.published = 0
        self.unrouted = 0
        self.duplicates = 0
        self.transports: dict[str, Transport] = {}
        self.monitor_address: str | None = None  # where the [deploy] websocket listens, once it does

    # ---- types and topics -------------------------------------------------------------
    def type_of(self, payload: Any) -> tuple[str, int]:
        cls = type(payload)
        found = self._types.get(cls)
        if found is None:
            entry = self.registry.for_class(cls)
            found = self._types[cls] = (entry.tag, entry.version)
        return found

    def is_critical(self, topic: str) -> bool:
        critical = self._critical.get(topic)
        if critical is None:
            critical = self._critical[topic] = any(
                topic_matches(p, topic) for p in self.settings.critical_topics)
        return critical

    def local_patterns(self) -> list[str]:
        return sorted({s.pattern for s in self._subs} | {self.inbox})

    # ---- subscribing -------------------------------------------------------------------
    def subscribe(self, pattern: str, *, name: str = "", queue_size: int | None = None,
                  overflow: Overflow | str | None = None, ack: str = "auto") -> Subscription:
        """A new subscription to ``pattern``; close it (or use ``with``) to unsubscribe.

        ``ack="manual"``: a critical message from a peer counts as delivered only once the
        consumer calls ``sub.ack(env)`` (after handling it); until then its publisher keeps it
        and redelivers it if this process dies. ``"auto"``: once it is queued here. Critical
        messages that arrived while nothing here claimed them are queued to it at once.
        """
        validate_pattern(pattern)
        if ack not in ("auto", "manual"):
            raise ValueError(f"subscribe({pattern!r}): ack must be 'auto' or 'manual', not {ack!r}")
        overflow = Overflow(overflow or self.settings.overflow)
        sub = Subscription(pattern, maxlen=queue_size or self.settings.queue_size,
                           overflow=overflow, name=name, on_close=self._unsubscribe,
                           dead_letter=self._dead_letter_full, manual_ack=ack == "manual",
                           on_ack=self.handover.acknowledge)
        self._subs.append(sub)
        self._local.clear()
        self._routes.clear()
        self.handover.adopt(sub)
        self._announce_interest()
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        self.handover.release(sub)
        if sub in self._subs:
            self._subs.remove(sub)
            self._local.clear()
            self._routes.clear()
            self._announce_interest()

    def _announce_interest(self) -> None:
        patterns = self.local_patterns()
        for link in self.links.values():
            link.send_interest(patterns)

    def _dead_letter_full(self, env: Envelope, reason: str, name: str) -> None:
        self.dlq.add(f"undeliverable: {reason}", envelope=env, origin=f"subscription:{name}")

    def _local_for(self, topic: str) -> tuple[Subscription, ...]:
        subs = self._local.get(topic)
        if subs is None:
            subs = self._local[topic] = tuple(s for s in self._subs if topic_matches(s.pattern, topic))
        return subs

    def _links_for(self, topic: str) -> tuple[PeerLink, ...]:
        return tuple(link for link in self.links.values() if link.wants(topic))

    # ---- publishing --------------------------------------------------------------------
    async def publish(self, topic: str, payload: Any, *, source: str = "", trace_id: int = 0,
                      message_id: int = 0, reply_to: str = "", correlation_id: int = 0) -> Envelope:
        """Publish ``payload`` (a registered attrs instance) on ``topic``; returns its envelope.

        Waits while a BLOCK subscription is full (backpressure). ``message_id`` lets an
        idempotent producer reuse an id so receivers deduplicate a re-publication.

        The common case (a fresh message on a known, non-critical route from this process, of
        the payload type last published on it) is one function: the route keeps that type's plan
        (see :meth:`_fast_plan`), which gives its tag, the peer's fast lane when one peer link
        wants the topic, and its frame's packers, and the frame is packed here from the id's
        counter, with no 128-bit arithmetic. Several peer links take :meth:`_enqueue_run`;
        anything else goes through :meth:`publish_envelope`.
        """
        route = self._routes.get(topic)
        if (route is not None and route[4] is type(payload) and not (message_id or reply_to or correlation_id)
                and (not source or source == self.process)):
            plan = route[5]
        else:
            plan = self._fast_plan(topic, payload, source, message_id, reply_to, correlation_id)
            if plan is None:
                return await self._publish_slowly(topic, payload, source, trace_id, message_id,
                                                  reply_to, correlation_id)
        tag, version, one, links, subs, unrouted, pack, lead, tail, pack_header = plan
        count = next(_COUNTER)
        message_id = _BOOT_PREFIX | count
        now = time.time_ns()
        env = Envelope(message_id, topic, tag, version, now, trace_id or message_id, self.process, payload)
        if one is not None:  # one peer link wants the topic
            lane, bulk = one
            out = lane.out
            queued = len(out)
            if queued >= self._link_buffer or (bulk.stream is not None and queued > self._failover_depth):
                await self.publish_envelope(env)  # full, or failing over to the bulk lane
                return env
            frame = None
            if lane.serialises:
                if pack is None:
                    frame = self.codec.encode(env)
                elif trace_id:
                    frame = pack_header(lead, _BOOT_HIGH, count, now, trace_id >> 64,
                                        trace_id & _MASK64, 0, tail) + pack(payload)
                else:
                    frame = pack_header(lead, _BOOT_HIGH, count, now, _BOOT_HIGH, count, 0, tail) + pack(payload)
                if len(frame) > self._fast_frame_bytes:
                    await self.publish_envelope(env)  # a large frame takes the bulk lane
                    return env
            out.append((env, frame, False))
            if lane.parked:
                lane.wake()
        elif links and not self._enqueue_run([env], links):
            await self.publish_envelope(env)
            return env
        # _to_subscriptions inline: one coroutine less per message is ~4% of the publish path
        for sub in subs:
            if not sub.offer(env):
                await sub.put(env)
        if unrouted:
            self.unrouted += 1
        published = self.published = self.published + 1
        if not published % YIELD_EVERY:  # let link writers and consumers run (_to_subscriptions)
            await trio.lowlevel.checkpoint()
        return env

    def _fast_plan(self, topic: str, payload: Any, source: str, message_id: int, reply_to: str,
                   correlation_id: int) -> tuple | None:
        """How :meth:`publish` sends a ``type(payload)`` on ``topic``, or None for a message its
        fast path does not take (a reply or request, a reused id, another source, a critical
        topic, a first message to this process's inbox). Validates the topic first.

        The plan is (tag, version, (fast lane, bulk lane) of the one peer link that wants the
        topic or None, the peer links, the local subscriptions, whether nothing takes it, then
        :meth:`Codec.layout_for`'s packers, or Nones for a type the codec encodes as JSON). It
        is memoised in the route, by type, and the route also keeps the last type's plan, which
        publish reads first; a change of links, interest or subscriptions (which drops the
        routes) drops them too. A route holds that last plan only once its topic was validated.
        """
        if topic not in self._valid_topics:
            validate_topic(topic)
            self._valid_topics.add(topic)
        if message_id or reply_to or correlation_id or (source and source != self.process):
            return None
        route = self._routes.get(topic)
        if route is None:
            if topic == self.inbox:
                return None
            route = self._route_for(topic)
        if route[2]:
            return None
        plan = route[3].get(type(payload))
        if plan is None:
            tag, version = self.type_of(payload)
            layout = self.codec.layout_for(topic, tag, self.process, version) or (None, None, None, None)
            links, subs = route[0], route[1]
            one = (links[0].fast, links[0].bulk) if len(links) == 1 else None
            plan = route[3][type(payload)] = (tag, version, one, links, subs, not subs and not links, *layout)
        self._routes[topic] = (*route[:4], type(payload), plan)
        return plan

    async def _publish_slowly(self, topic: str, payload: Any, source: str, trace_id: int,
                              message_id: int, reply_to: str, correlation_id: int) -> Envelope:
        """:meth:`publish` of a message its fast path does not take: a first one on its topic,
        a critical topic, a reply or request, a reused id or another source."""
        tag, version = self._types.get(type(payload)) or self.type_of(payload)
        message_id = message_id or _BOOT_PREFIX | next(_COUNTER)  # new_message_id(), inline
        env = Envelope(message_id, topic, tag, version, time.time_ns(), trace_id or message_id,
                       source or self.process, payload, reply_to, correlation_id)
        await self.publish_envelope(env)
        return env

    async def publish_many(self, topic: str, payloads: Sequence[Any], *, source: str = "",
                           trace_id: int = 0) -> list[Envelope]:
        """Publish a run of payloads on one topic, in order; returns their envelopes.

        The same as :meth:`publish` for each payload (each gets its own id; they share one
        creation time), with the per-call work done once per run: the topic check, the route,
        the lane's room check and wakeup, one queue operation per link and subscription. For a
        module that emits several messages at once (a block's pool updates, a frame's intents).
        Critical topics and runs that need a slow path (a full lane, a frame too large for the
        fast lane, a lane failing over) go message by message through :meth:`publish_envelope`.
        """
        if topic not in self._valid_topics:
            validate_topic(topic)
            self._valid_topics.add(topic)
        now = time.time_ns()
        source = source or self.process
        types = self._types
        envs = []
        append = envs.append
        for payload in payloads:
            tag, version = types.get(type(payload)) or self.type_of(payload)
            message_id = _BOOT_PREFIX | next(_COUNTER)
            append(Envelope(message_id, topic, tag, version, now, trace_id or message_id, source, payload))
        route = self._routes.get(topic)
        if route is None and topic != self.inbox:
            route = self._route_for(topic)
        if route is None or route[2] or not envs or not self._enqueue_run(envs, route[0]):
            for env in envs:
                await self.publish_envelope(env)
            return envs
        self.published += len(envs)
        links, subs = route[0], route[1]
        for sub in subs:
            taken = sub.offer_many(envs)
            for env in envs[taken:]:  # a full BLOCK subscription: backpressure, in order
                await sub.put(env)
        if not subs and not links:
            self.unrouted += len(envs)
        self._since_yield += len(envs)
        if self._since_yield >= YIELD_EVERY:
            self._since_yield = 0
            await trio.lowlevel.checkpoint()
        return envs

    def _enqueue_run(self, envs: list[Envelope], links: tuple[PeerLink, ...]) -> bool:
        """Queue a run of non-critical envelopes on every link's fast lane at once, or nothing
        (False) when any of them needs the per-message path (the checks of publish's fast path,
        for a run)."""
        frames = None
        plan = []
        for link in links:
            lane = link.fast
            if lane.serialises:
                if frames is None:
                    frames = self.codec.encode_run(envs)
                    if max(map(len, frames)) > self._fast_frame_bytes:
                        return False
                link_frames = frames
            else:
                link_frames = itertools.repeat(None)
            if (len(lane.out) + len(envs) > self._link_buffer
                    or (link.bulk.stream is not None and len(lane.out) > self._failover_depth)):
                return False
            plan.append((lane, link_frames))
        for lane, link_frames in plan:
            out = lane.out
            out.extend(zip(envs, link_frames, itertools.repeat(False)))
            if lane.parked:
                lane.wake()
        return True

    def _route_for(self, topic: str) -> tuple:
        """(peer links that want ``topic``, local subscriptions, critical?, publish's plans by
        payload type, the last type publish sent and its plan: None until :meth:`_fast_plan`
        sets them) — cached per topic."""
        links = self._remote.get(topic)
        if links is None:
            links = self._remote[topic] = self._links_for(topic)
        route = self._routes[topic] = (links, self._local_for(topic), self.is_critical(topic), {}, None, None)
        return route

    async def publish_envelope(self, env: Envelope) -> None:
        """Route an envelope made here (or replayed from the DLQ) to local and remote subscribers."""
        topic = env.topic
        self.published += 1
        route = self._routes.get(topic)
        if route is None:
            if topic == self.inbox:
                self._resolve_reply(env)
                return
            route = self._route_for(topic)
        links, subs, critical = route[0], route[1], route[2]
        frame = None
        if critical and links:  # no peer wants it: in-process delivery needs no journal
            frame = self.codec.encode(env)
            if len(frame) > self.settings.max_frame_bytes:
                links = self._refuse_oversize(env, frame, links)
            elif self.journal is not None:
                dests = [link.peer for link in links if not link.read_only]
                if dests:
                    self.journal.record(env.id, topic, frame, env.created_ns, dests)
        if links:
            settings = self.settings
            for link in links:
                lane = link.fast
                if lane.serialises:
                    if frame is None:
                        frame = self.codec.encode(env)
                        if len(frame) > settings.max_frame_bytes:
                            self._refuse_oversize(env, frame, links)
                            break
                    link_frame = frame
                else:
                    link_frame = None
                if not critical and link.bulk.stream is not None and (
                        len(lane.out) > settings.failover_depth
                        or (link_frame is not None and len(link_frame) > settings.large_message_bytes)):
                    lane = link.lane_for(link_frame, critical)
                if len(lane.out) >= settings.link_buffer:
                    await lane.wait_room()  # backpressure from a connected, busy peer
                lane.enqueue(env, link_frame, critical and not link.read_only)
        await self._to_subscriptions(env, subs, links)

    async def _to_subscriptions(self, env: Envelope, subs: tuple[Subscription, ...], links: tuple) -> None:
        """The local half of a publish (links already have it), and the publisher's yield."""
        for sub in subs:
            if not sub.offer(env):
                await sub.put(env)
        if not subs and not links:
            self.unrouted += 1
        self._since_yield += 1
        if self._since_yield >= YIELD_EVERY:
            # a tight publishing loop must let link writers and consumers run, or nothing
            # leaves until it stops; one full yield per batch costs ~0.05 us per message
            self._since_yield = 0
            await trio.lowlevel.checkpoint()

    def _refuse_oversize(self, env: Envelope, frame: bytes, links) -> tuple:
        """A frame every peer would refuse (and drop the connection for, again at each resend of
        a critical one) is dead-lettered here instead; local subscribers still get it."""
        self.dlq.add(f"undeliverable: its frame of {len(frame)} bytes is above max_frame_bytes "
                     f"({self.settings.max_frame_bytes}); not sent to "
                     f"{', '.join(link.peer for link in links) or 'any peer'}",
                     envelope=env, origin="publish")
        return ()

    async def deliver_remote(self, env: Envelope) -> None:
        """Hand an envelope that arrived from a peer to the local subscriptions only."""
        if env.topic == self.inbox:
            self._resolve_reply(env)
            return
        subs = self._local.get(env.topic)
        if subs is None:
            subs = self._local_for(env.topic)
        for sub in subs:
            if not sub.offer(env):
                await sub.put(env)
        if not subs:
            self.unrouted += 1

    async def deliver_remote_many(self, topic: str, envs: list[Envelope]) -> None:
        """:meth:`deliver_remote` for a run of envelopes on one topic (one step per subscription)."""
        if topic == self.inbox:
            for env in envs:
                self._resolve_reply(env)
            return
        subs = self._local.get(topic)
        if subs is None:
            subs = self._local_for(topic)
        if not subs:
            self.unrouted += len(envs)
            return
        for sub in subs:
            taken = sub.offer_many(envs)
            for env in envs[taken:]:  # a full BLOCK subscription: backpressure, in order
                await sub.put(env)

    # ---- request / reply ---------------------------------------------------------------
    async def request(self, topic: str, payload: Any, *, source: str = "",
                      timeout_s: float | None = None, trace_id: int = 0) -> Envelope:
        """Publish a request and wait for the first reply; raises RequestTimeout/NoResponder."""
        if not self._local_for(topic) and not self._links_for(topic):
            raise NoResponder(f"request on {topic!r}: no subscriber here or in any connected peer")
        correlation_id = next(self._correlation)
        slot = self._replies[correlation_id] = _ReplySlot()
        timeout_s = self.settings.request_timeout_s if timeout_s is None else timeout_s
        try:
            await self.publish(topic, payload, source=source, trace_id=trace_id,
                               reply_to=self.inbox, correlation_id=correlation_id)
            with trio.move_on_after(timeout_s):
                await slot.event.wait()
        finally:
            del self._replies[correlation_id]
        if slot.reply is None:
            raise RequestTimeout(f"request on {topic!r}: no reply within {timeout_s} s")
        return slot.reply

    async def reply(self, request: Envelope, payload: Any, *, source: str = "") -> Envelope:
        """Answer ``request`` (an envelope received from a subscription)."""
        return await self.publish(request.reply_to, payload, source=source,
                                  trace_id=request.trace_id, correlation_id=request.correlation_id)

    def _resolve_reply(self, env: Envelope) -> None:
        slot = self._replies.get(env.correlation_id)
        if slot is None or slot.reply is not None:
            self.dlq.add(f"undeliverable: reply {env.correlation_id} arrived after its request "
                         "timed out (or twice)", envelope=env, origin="inbox")
            return
        slot.reply = env
        slot.event.set()

    # ---- links and listeners -----------------------------------------------------------
    def link(self, peer: str, transport: str = "?", address: str = "", reason: str = "", *,
             read_only: bool = False) -> PeerLink:
        link = self.links.get(peer)
        if link is None:
            link = self.links[peer] = PeerLink(self, peer, transport, address, reason,
                                               read_only=read_only)
            self._remote.clear()
            self._routes.clear()
        return link

    def _interest_changed(self) -> None:
        self._remote.clear()
        self._routes.clear()

    async def serve(self, transport: Transport, address: str, *, read_only: bool = False,
                    task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Accept peer connections on ``address``; ``task_status.started(bound address)``.

        ``read_only`` serves monitoring clients (the [deploy] websocket): each gets the messages
        its Hello subscribes to (critical ones too, but at most once: never journalled for it),
        may not publish (what it sends besides link control is refused and counted), is named
        ``monitor:<its name>`` so it can never stand in for a peer process, and is forgotten when
        it disconnects.
        """
        async def accept(stream: MessageStream) -> None:
            first = await stream.receive_batch()
            head = first[0]
            try:
                env = self.codec.decode(head) if transport.serialises else head
            except MessageDecodeError as exc:
                self.dlq.add(f"undecodable: {exc}", raw=bytes(head), origin=f"accept:{stream.peer}")
                raise HandshakeError(f"{stream.peer} opened with an undecodable frame instead of "
                                     f"its Hello: {exc}") from None
            if not isinstance(env.payload, Hello):
                raise HandshakeError(f"{stream.peer} sent {env.tag!r} before its Hello")
            hello = env.payload
            name = f"{MONITOR_PREFIX}{hello.process}" if read_only else hello.process
            link = self.link(name, transport.name, f"{stream.peer} (accepted)",
                             f"{hello.process} dialled us over {transport.name}"
                             + (" (monitoring, read-only)" if read_only else ""), read_only=read_only)
            if link.read_only != read_only:
                raise HandshakeError(f"{stream.peer} calls itself {hello.process!r}, the name of a "
                                     f"{'monitoring client' if link.read_only else 'peer process'}")
            lane = link.lanes.get(hello.lane)
            if lane is None:
                raise HandshakeError(f"{hello.process} asked for unknown lane {hello.lane!r}")
            log.info("bus %s: %s connected on lane %s over %s", self.process, hello.process,
                     hello.lane, transport.name)
            link.set_interest(hello.patterns)
            self._remote.clear()
            self._routes.clear()
            try:
                await lane.run_session(stream, transport.serialises, first[1:])
            except (StreamClosed, FrameError) as exc:
                log.warning("bus %s: link from %s/%s closed: %s", self.process, hello.process,
                            hello.lane, exc)
            finally:
                if read_only and self.links.get(name) is link and not link.fast.connected:
                    del self.links[name]  # nothing is buffered for a monitor that went away
                    self._remote.clear()
                    self._routes.clear()

        async with trio.open_nursery() as nursery:
            bound = await nursery.start(transport.listen, address, accept)
            task_status.started(bound)

    async def dial(self, peer: str, transport: Transport, address: str, *, bulk: bool = True,
                   reason: str = "") -> None:
        """Keep a link to ``peer`` at ``address`` up (fast lane, plus bulk lane for byte transports)."""
        link = self.link(peer, transport.name, address, reason)
        log.info("bus %s: route to %s over %s at %s (%s)", self.process, peer, transport.name,
                 address, reason or "explicit")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(link.dial_forever, transport, address, FAST)
            if bulk and transport.serialises:
                nursery.start_soon(link.dial_forever, transport, address, BULK)

    def _transport(self, kind: str) -> Transport:
        if kind not in self.transports:
            from transports.tcp import TcpTransport
            from transports.unix import UnixTransport
            deploy = self.deploy
            if kind == "unix":
                self.transports[kind] = UnixTransport(max_frame_bytes=self.settings.max_frame_bytes)
            elif kind == "tcp":
                server_ssl = client_ssl = None
                if deploy.tls_cert:
                    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                    server_ssl.load_cert_chain(deploy.tls_cert, deploy.tls_key or None)
                    client_ssl = ssl.create_default_context(cafile=deploy.tls_ca or None)
                self.transports[kind] = TcpTransport(deploy.secret, max_frame_bytes=self.settings.max_frame_bytes,
                                                     server_ssl=server_ssl, client_ssl=client_ssl)
            else:
                raise ValueError(f"no transport {kind!r}")
        return self.transports[kind]

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Open the journal, listen and dial as [deploy] says; started() once listening."""
        if self.journal is None and self.settings.critical_topics and self.settings.persist_path:
            self.journal = Journal(self.settings.persist_path.replace("{process}", self.process))
            for link in self.links.values():
                link.patterns = tuple(self.journal.interest().get(link.peer, link.patterns))
        if self.journal is not None:
            self.dlq.attach(self.journal, self.codec)
        try:
            async with trio.open_nursery() as nursery:
                if self.journal is not None:
                    nursery.start_soon(self._flush_dead_letters)
                if self.deploy is not None and self.deploy.processes:
                    for kind, address in listen_endpoints(self.deploy, self.process):
                        await nursery.start(self.serve, self._transport(kind), address)
                    for route in plan_routes(self.deploy, self.process):
                        link = self.link(route.peer, route.transport, route.address, route.reason)
                        if route.dial:
                            nursery.start_soon(self.dial, route.peer, self._transport(route.transport),
                                               route.address)
                        else:
                            log.info("bus %s: route to %s over %s: waiting for it to dial %s (%s)",
                                     self.process, route.peer, route.transport, route.address,
                                     route.reason)
                if self.deploy is not None and self.deploy.websocket:
                    from transports.websocket import WebSocketTransport

                    problems = websocket_problems(self.deploy)
                    if problems:
                        raise PlacementError("; ".join(problems))
                    monitors = WebSocketTransport(nursery, max_frame_bytes=self.settings.max_frame_bytes,
                                                  token=self.deploy.websocket_token)
                    self.monitor_address = await nursery.start(functools.partial(
                        self.serve, monitors, self.deploy.websocket, read_only=True))
                    log.info("bus %s: monitoring websocket (read-only%s) on ws://%s/bus",
                             self.process, ", token required" if self.deploy.websocket_token else "",
                             self.monitor_address)
                task_status.started()
                await trio.sleep_forever()
        finally:
            if self.journal is not None:
                try:
                    self.dlq.flush()
                except JournalError as exc:
                    log.error("bus %s: dead letters not saved at shutdown: %s", self.process, exc)
                self.journal.close()

    async def _flush_dead_letters(self) -> None:
        """Write new dead letters to the journal every 0.2 s (one transaction per burst)."""
        while True:
            await trio.sleep(0.2)
            try:
                self.dlq.flush()
            except JournalError as exc:  # a full disk, say: the letters stay in memory, retried
                log.error("bus %s: dead letters not saved yet: %s", self.process, exc)

    # ---- introspection -----------------------------------------------------------------
    def routes(self) -> list[dict]:
        local = {"peer": self.process, "transport": "memory", "address": "in-process",
                 "reason": "same process", "subscriptions": [s.stats() for s in self._subs]}
        return [local] + [link.stats() for link in self.links.values()]

    def stats(self) -> dict:
        return {"process": self.process, "published": self.published, "unrouted": self.unrouted,
                "duplicates_suppressed": self.duplicates,
                "critical_unhandled": len(self.handover.entries), "critical_held": self.handover.held,
                "dropped": sum(s.dropped for s in self._subs), "dlq": self.dlq.stats()}

    async def replay(self, seqs: list[int] | None = None) -> list[str]:
        """Republish dead letters that still have an envelope; returns their ids."""
        wanted = [letter.seq for letter in self.dlq.list(0)
                  if letter.envelope is not None and (seqs is None or letter.seq in seqs)]
        replayed = []
        for letter in self.dlq.take(wanted):
            await self.publish_envelope(letter.envelope)
            replayed.append(format_id(letter.envelope.id))
        return replayed
