"""What a placement needs from the bus's links: a peer learns every topic a process subscribes to.

A process's modules subscribe after its links are up whenever it starts after its peers (or is
restarted by `mevbot up`), often several topics at once (the store subscribes to ten). Each
subscription sends the peer an Interest update; the peer must end with the newest (it kept a
stale one until a82fa4a: queued control frames went out newest first).
"""

from __future__ import annotations

import os
import tempfile

import trio

from mevbot.bus.bus import Bus
from mevbot.bus.link import FAST
from mevbot.bus.settings import BusSettings
from transports.unix import UnixTransport


async def wait_for(condition, timeout_s: float = 5.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.01)  # polling the links' state with a deadline: no event for it


async def test_subscriptions_made_while_linked_all_reach_the_peer():
    with tempfile.TemporaryDirectory(prefix="mbint") as folder:
        address = os.path.join(folder, "b.sock")
        a = Bus(BusSettings(persist_path=""), process="a")
        b = Bus(BusSettings(persist_path=""), process="b")
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            await nursery.start(b.run)
            await nursery.start(b.serve, UnixTransport(), address)
            nursery.start_soon(a.dial, "b", UnixTransport(), address)
            await wait_for(lambda: "b" in a.links and a.links["b"].lanes[FAST].connected
                           and "a" in b.links and b.links["a"].lanes[FAST].connected)
            subs = [b.subscribe(topic) for topic in ("x.one", "x.two", "x.three")]
            try:
                with trio.move_on_after(2):
                    await wait_for(lambda: a.links["b"].patterns == tuple(b.local_patterns()))
                assert a.links["b"].patterns == tuple(b.local_patterns())
            finally:
                for sub in subs:
                    sub.close()
                nursery.cancel_scope.cancel()
