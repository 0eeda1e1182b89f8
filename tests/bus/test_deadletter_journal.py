"""Dead letters survive a restart: kept in the bus journal (SQLite), loaded again at start."""

from __future__ import annotations

import contextlib

import trio

from mevbot.bus.bus import Bus
from mevbot.bus.control import control_handlers
from mevbot.bus.envelope import make_envelope
from mevbot.bus.journal import Journal
from mevbot.bus.settings import BusSettings

from .messages import Tick


@contextlib.asynccontextmanager
async def running_bus(path):
    """A bus of process 'p' running with its journal at ``path``; stopped (cancelled) on exit."""
    bus = Bus(BusSettings(persist_path=str(path), critical_topics=["exec.#"]), process="p")
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        yield bus
        nursery.cancel_scope.cancel()


async def test_letters_are_kept_across_a_restart_replayable_and_purged_for_good(tmp_path):
    path = tmp_path / "bus.sqlite"
    async with running_bus(path) as bus:
        bus.dlq.add("undecodable: bad magic", raw=b"\x00garbage", origin="link:x")
        for i in range(3):
            bus.dlq.add("expired: waited over 30 s for peer 'gone'", origin="link:gone",
                        envelope=make_envelope("market.tick", Tick(i, "kept"), "test.tick", 1, "scanner"))
        ids = [letter.envelope.id for letter in bus.dlq.list(0) if letter.envelope]
    # shut down before the periodic flush: the letters were written at shutdown

    async with running_bus(path) as bus:
        letters = bus.dlq.list(0)
        assert [letter.seq for letter in letters] == [1, 2, 3, 4]
        assert letters[0].raw == b"\x00garbage" and letters[0].reason == "undecodable: bad magic"
        assert [letter.envelope.id for letter in letters[1:]] == ids
        assert [letter.envelope.payload for letter in letters[1:]] == [Tick(i, "kept") for i in range(3)]
        assert bus.dlq.stats()["restored"] == 4
        sub = bus.subscribe("market.#")
        handlers = control_handlers(bus)
        replayed = await handlers["dlq-replay"]({"ids": [2]})
        assert replayed["replayed"] == [f"{ids[0]:032x}"]
        assert (await sub.receive()).id == ids[0]  # republished with its original id
        assert (await handlers["dlq-purge"]({"ids": [1]}))["purged"] == 1
        bus.dlq.add("undeliverable: buffer full", raw=b"later", origin="link:y")
        assert bus.dlq.list(0)[-1].seq == 5  # numbering continues after the restored letters

    async with running_bus(path) as bus:
        assert [(letter.seq, letter.raw) for letter in bus.dlq.list(0)] == [
            (3, None), (4, None), (5, b"later")]
        await control_handlers(bus)["dlq-purge"]({})
    assert Journal(str(path)).dead_letters(100) == []


async def test_new_letters_reach_the_journal_while_running_and_the_bound_trims_it(tmp_path):
    path = tmp_path / "bus.sqlite"
    bus = Bus(BusSettings(persist_path=str(path), critical_topics=["exec.#"], dlq_size=5), process="p")
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        for i in range(12):
            bus.dlq.add(f"undecodable: frame {i}", raw=bytes([i]), origin="link:x")
        reader = Journal(str(path))
        with trio.fail_after(5):
            while [row[0] for row in reader.dead_letters(100)] != list(range(8, 13)):
                await trio.sleep(0.05)  # the bus flushes every 0.2 s: poll the file, with a deadline
        assert bus.dlq.evicted == 7
        nursery.cancel_scope.cancel()
