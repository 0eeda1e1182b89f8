"""Critical topics: journalled before publish returns, at least once, deduplicated, redelivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import trio
import trio.testing

from mevbot.bus.bus import Bus
from mevbot.bus.journal import Journal
from mevbot.bus.settings import BusSettings
from transports.unix import UnixTransport

from .messages import Tick

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def wait_for(condition, timeout=15.0):
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.01)  # polling a real condition with a deadline


def start_publisher(address, journal, count):
    return subprocess.Popen([sys.executable, "-m", "tests.bus.critical_peer", "--address", address,
                             "--journal", journal, "--count", str(count)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)


async def test_a_killed_publisher_redelivers_from_its_journal_with_no_loss_and_no_duplicate(tmp_path):
    n = 300
    bus = Bus(BusSettings(persist_path=str(tmp_path / "test.sqlite"), critical_topics=["exec.#"]),
              process="test")
    address = str(tmp_path / "test.sock")
    publisher_journal = str(tmp_path / "pub.sqlite")
    # a tiny blocking queue that we do not read yet: the link stalls mid-stream, unacknowledged
    sub = bus.subscribe("exec.request", queue_size=20, overflow="block")
    procs = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(bus.run)
            await nursery.start(bus.serve, UnixTransport(), address)
            first = start_publisher(address, publisher_journal, n)
            procs.append(first)
            assert await trio.to_thread.run_sync(first.stdout.readline) == "published\n"
            await wait_for(lambda: sub.depth == 20)
            pending_at_kill = Journal(publisher_journal).pending_count("test")
            first.send_signal(signal.SIGKILL)
            first.wait()
            assert pending_at_kill > 0  # the kill really was mid-stream

            got = [e.payload.seq for e in await sub.receive_batch()]
            second = start_publisher(address, publisher_journal, 0)  # redelivery only
            procs.append(second)
            with trio.fail_after(20):
                while len(got) < n:
                    got.extend(e.payload.seq for e in await sub.receive_batch())
            await wait_for(lambda: Journal(publisher_journal).pending_count("test") == 0)
            await trio.testing.wait_all_tasks_blocked(0.05)
            assert sub.depth == 0
            nursery.cancel_scope.cancel()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(got) == list(range(n))  # none lost, none surfaced twice


async def test_a_republished_critical_id_is_acknowledged_but_not_delivered_again(tmp_path):
    settings = BusSettings(persist_path="", critical_topics=["exec.#"])
    a = Bus(settings, process="a", journal=Journal(str(tmp_path / "a.sqlite")))
    b = Bus(settings, process="b", journal=Journal(str(tmp_path / "b.sqlite")))
    address = str(tmp_path / "b.sock")
    sub = b.subscribe("exec.result")
    async with trio.open_nursery() as nursery:
        await nursery.start(b.serve, UnixTransport(), address)
        nursery.start_soon(a.dial, "b", UnixTransport(), address)
        await wait_for(lambda: "b" in a.links and a.links["b"].wants("exec.result"))
        for _ in range(3):
            await a.publish("exec.result", Tick(1), message_id=12345)
        await a.publish("exec.result", Tick(2))
        with trio.fail_after(5):
            assert (await sub.receive()).payload == Tick(1)
            assert (await sub.receive()).payload == Tick(2)
        await wait_for(lambda: a.journal.pending_count() == 0)
        assert b.duplicates == 2 and sub.depth == 0
        assert b.journal.seen(12345)
        nursery.cancel_scope.cancel()
