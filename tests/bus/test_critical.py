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


def start_receiver(address, journal, *options):
    return subprocess.Popen([sys.executable, "-m", "tests.bus.critical_receiver", "--address", address,
                             "--journal", journal, *options], cwd=ROOT, stdout=subprocess.PIPE, text=True)


async def read_line(proc) -> str:
    return await trio.to_thread.run_sync(proc.stdout.readline, abandon_on_cancel=True)


async def test_a_receiver_killed_with_critical_messages_unhandled_handles_each_exactly_once_after_its_restart(tmp_path):
    n, k = 200, 60
    bus = Bus(BusSettings(persist_path=str(tmp_path / "test.sqlite"), critical_topics=["exec.#"]),
              process="test")
    address = str(tmp_path / "test.sock")
    receiver_journal = str(tmp_path / "recv.sqlite")
    ids = [(1 << 100) + i for i in range(n)]
    procs = []
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(bus.run)
            await nursery.start(bus.serve, UnixTransport(), address)
            # handles k, takes one more and never finishes it, the rest stay queued unhandled
            first = start_receiver(address, receiver_journal, "--handle", str(k), "--queued", str(n - k - 1))
            procs.append(first)
            await wait_for(lambda: "recv" in bus.links and bus.links["recv"].wants("exec.request"))
            for i in range(n):
                await bus.publish("exec.request", Tick(i), message_id=ids[i])
            with trio.fail_after(20):
                handled_first = [await read_line(first) for _ in range(k)]
                assert await read_line(first) == "queued\n"
            await wait_for(lambda: bus.journal.pending_count("recv") == n - k)
            first.send_signal(signal.SIGKILL)
            first.wait()
            await wait_for(lambda: not bus.links["recv"].fast.connected)  # all it sent is read
            assert bus.journal.pending_count("recv") == n - k  # only what it handled was acknowledged

            # an idempotent producer publishes them all again while the receiver is down
            for i in range(n):
                await bus.publish("exec.request", Tick(i), message_id=ids[i])
            assert bus.journal.pending_count("recv") == n
            # it subscribes only once the n - k it never handled are held for want of a subscriber
            second = start_receiver(address, receiver_journal, "--held", str(n - k))
            procs.append(second)
            with trio.fail_after(20):
                assert await read_line(second) == "held\n"
                handled_second = [await read_line(second) for _ in range(n - k)]
            await wait_for(lambda: bus.journal.pending_count("recv") == 0)
            second.send_signal(signal.SIGKILL)
            second.wait()
            after = second.stdout.read()  # it prints before it acknowledges: anything surfaced twice
            nursery.cancel_scope.cancel()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert handled_first == [f"handled {i}\n" for i in range(k)]
    assert handled_second == [f"handled {i}\n" for i in range(k, n)]  # in order, none lost
    assert after == ""  # none surfaced twice


async def test_a_critical_message_no_peer_wants_is_delivered_in_process_and_never_journalled(tmp_path):
    """The journal exists for redelivery to peers: with only local subscribers (monolithic), a
    critical message costs no SQLite write; once a peer subscribes, it is journalled for it."""
    journal = Journal(str(tmp_path / "j.sqlite"))
    bus = Bus(BusSettings(persist_path="", critical_topics=["exec.#"]), process="solo", journal=journal)
    local = bus.subscribe("exec.request")
    await bus.publish("exec.request", Tick(1))
    assert (await local.receive()).payload == Tick(1)
    assert journal.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    bus.link("peer", "unix", "/nonexistent").set_interest(["exec.#"])
    await bus.publish("exec.request", Tick(2))
    assert journal.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    assert journal.pending_count("peer") == 1
