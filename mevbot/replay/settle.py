"""Settling a deployment between two replayed events: every process idle, nothing in flight.

A replayed recording is only deterministic if each event is handled completely, in every
process, before the next is published: otherwise the scheduler decides, as it does live,
whether the parser's intent of a block reaches the pipeline before that block's logs, or
whether the scanner takes two state changes as one. The replay source (mevbot/replay/source.py)
therefore publishes an event and then waits here until the whole placement has settled.

The check is the four-counter method of distributed termination detection (Mattern 1987): a
wave asks every process for a report taken at a moment it was idle, i.e. none of its tasks
could run for :data:`SETTLE_CUSHION_S` (``trio.testing.wait_all_tasks_blocked``, the scheduler's
own knowledge; it is public API, not only for tests) while none of its RPC requests was waiting
for an answer (:data:`mevbot.rpc.inflight.RPC_IN_FLIGHT`), together with the frame counters of
each of its peer links. The deployment has settled when two consecutive waves report the same
counters and every link is balanced: each process received from each peer exactly as many
frames as that peer sent to it. Then no process was busy at its reports, none sent or received
anything between its two reports, and no message is in transit.

The probes travel on the bus themselves (``replay.settle.<process>``, request/reply), so their
own frames are in the link counters; the initiator knows how many it sent and takes them out.

What the check cannot see: a task waiting on I/O other than the bus and the RPC clients looks
idle. The RPC waits (execution's dry-run ``eth_call``, the scanner's NodeInterface query per
head) are seen, however slow the node: before, a reply slower than the cushion let the next
event in while a module still waited for it. See docs/replay.md.

Only the process that replays starts waves; every process of a replaying deployment answers
them (`mevbot run` starts :func:`serve_settle_probes` once its modules are up, so an answer also
means "ready").
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import trio

from mevbot.replay.errors import ReplayError
from mevbot.rpc.inflight import RPC_IN_FLIGHT

log = logging.getLogger("mevbot.replay.settle")

SETTLE_TOPIC = "replay.settle"
#: A process counts as idle once none of its tasks could run for this long: long enough for a
#: peer's frame already on its way to wake a task.
SETTLE_CUSHION_S = 0.01
PROBE_TIMEOUT_S = 10.0
READY_POLL_S = 0.05


class NotSettled(ReplayError):
    """The deployment did not settle in time (a process stays busy, or a link loses frames)."""


@attrs.frozen
class SettleProbe:
    wave: int


@attrs.frozen
class SettleReport:
    process: str
    #: (peer, frames sent to it, frames received from it), all lanes, since this process started
    links: tuple[tuple[str, int, int], ...]
    #: probes this process has answered, this one included
    answered: int


def register_messages() -> None:
    from mevbot.bus.registry import MESSAGES

    MESSAGES.register(SettleProbe, "replay.settle.probe", 1)
    MESSAGES.register(SettleReport, "replay.settle.report", 1)


def link_counts(bus: Any) -> tuple[tuple[str, int, int], ...]:
    """(peer, frames sent, frames received) of every peer link, counted as the other end counts.

    A lane counts the frames its writer sends and its reader receives. The Hello that opens a
    connection leaves outside the writer at both ends, and is read by the reader only at the end
    that dialled (the listening end reads the dialler's Hello to learn who it is): so the dialler
    takes one received frame per connection out."""
    from mevbot.bus.router import plan_routes

    dialled = set()
    if getattr(bus, "deploy", None) is not None and bus.deploy.processes:
        dialled = {route.peer for route in plan_routes(bus.deploy, bus.process) if route.dial}
    rows = []
    for peer, link in sorted(bus.links.items()):
        if link.read_only:
            continue  # a dashboard's monitoring connection is no part of the deployment
        lanes = link.lanes.values()
        received = sum(lane.received for lane in lanes)
        if peer in dialled:
            received -= sum(lane.sessions for lane in lanes)
        rows.append((peer, sum(lane.sent for lane in lanes), received))
    return tuple(rows)


async def idle_report(bus: Any, answered: int) -> SettleReport:
    """This process's report, taken once none of its other tasks could run and none of its RPC
    requests is waiting for an answer (a task waiting for one looks blocked to the scheduler)."""
    await RPC_IN_FLIGHT.wait_idle(SETTLE_CUSHION_S)
    return SettleReport(bus.process, link_counts(bus), answered)  # no checkpoint since the wait


async def serve_settle_probes(bus: Any, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Answer the replaying process's settle probes (every process of a replaying deployment)."""
    register_messages()
    answered = 0
    with bus.subscribe(f"{SETTLE_TOPIC}.{bus.process}", name="replay.settle") as probes:
        task_status.started()
        async for env in probes:
            answered += 1
            report = await idle_report(bus, answered)
            await bus.reply(env, report, source="replay")


class Settler:
    """Waves over ``processes`` (this one included) until the deployment has settled."""

    def __init__(self, bus: Any, processes: list[str]) -> None:
        register_messages()
        self.bus = bus
        self.processes = sorted(processes)
        self.waves = 0

    async def _ask(self, process: str) -> SettleReport:
        """A probe over the bus (to this process too: its answer means its modules are up)."""
        self.waves += 1
        env = await self.bus.request(f"{SETTLE_TOPIC}.{process}", SettleProbe(self.waves), source="replay",
                                     timeout_s=PROBE_TIMEOUT_S)
        return env.payload

    async def _report(self, process: str) -> SettleReport:
        if process == self.bus.process:
            return await idle_report(self.bus, 0)
        return await self._ask(process)

    async def _wave(self) -> dict[str, dict[str, tuple[int, int]]]:
        """process -> peer -> (data frames sent, data frames received), probes taken out.

        Ours is taken first, before this wave's probes. A peer that has answered n probes, this
        one included, has received n from us and sent us n - 1 replies, and (when nothing is in
        flight) we have sent it n - 1 and received its n - 1 replies."""
        me = self.bus.process
        mine = await self._report(me)
        wave = {}
        answered = {}
        for process in self.processes:
            if process == me:
                continue
            report = await self._report(process)
            answered[process] = report.answered
            wave[process] = {peer: ((sent - (report.answered - 1), received - report.answered) if peer == me
                                    else (sent, received))
                             for peer, sent, received in report.links}
        wave[me] = {peer: ((sent - (answered[peer] - 1), received - (answered[peer] - 1)) if peer in answered
                           else (sent, received))
                    for peer, sent, received in mine.links}
        return wave

    def _unbalanced(self, wave) -> list[str]:
        problems = []
        for a in self.processes:
            for b, (sent, _) in wave.get(a, {}).items():
                if b not in wave:
                    continue
                received = wave[b].get(a, (0, 0))[1]
                if sent != received:
                    problems.append(f"{a} sent {sent} frames to {b}, which received {received}")
        return problems

    async def wait_ready(self, timeout_s: float) -> None:
        """Until every process answers a probe (its modules are up and its links connected)."""
        from mevbot.bus.errors import NoResponder, RequestTimeout

        waiting = list(self.processes)
        with trio.move_on_after(timeout_s):
            while waiting:
                try:
                    await self._ask(waiting[0])
                except (NoResponder, RequestTimeout):
                    await trio.sleep(READY_POLL_S)  # polling: a peer's readiness sends no event here
                    continue
                waiting.pop(0)
        if waiting:
            raise NotSettled(f"replay: process(es) {', '.join(waiting)} did not answer within {timeout_s:g} s "
                             "(not started, not connected, or not replaying this config)")

    async def settle(self, timeout_s: float) -> None:
        """Return once two consecutive waves agree and every link is balanced; NotSettled if not
        within ``timeout_s`` (naming the links that stay unbalanced)."""
        from mevbot.bus.errors import NoResponder, RequestTimeout

        previous = None
        problems: list[str] = []
        with trio.move_on_after(timeout_s):
            while True:
                try:
                    wave = await self._wave()
                except (NoResponder, RequestTimeout) as exc:
                    problems = [str(exc)]
                    previous = None
                    await trio.sleep(READY_POLL_S)  # a peer restarting: ask again
                    continue
                problems = self._unbalanced(wave)
                if not problems and wave == previous:
                    return
                previous = None if problems else wave
        raise NotSettled(f"replay: the deployment did not settle within {timeout_s:g} s: "
                         f"{'; '.join(problems) or 'its counters kept changing'}")
