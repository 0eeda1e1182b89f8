"""A real peer process for the critical-delivery fault tests (run: python -m tests.bus.critical_peer).

It dials the test's bus over a Unix socket as process "pub", waits until the test subscribes to
``exec.request``, publishes ``--count`` critical messages with ids derived from ``--id-base``
(an idempotent producer), prints ``published`` and then stays up until killed. Restarted with
``--count 0`` on the same journal it only redelivers what the test has not acknowledged.
"""

from __future__ import annotations

import argparse
import functools
import sys

import trio

import mevbot.config  # noqa: F401  (import order: see tests/bus/conftest.py)
from mevbot.bus.bus import Bus
from mevbot.bus.settings import BusSettings
from transports.unix import UnixTransport

from tests.bus.messages import Tick


async def main(args) -> None:
    bus = Bus(BusSettings(persist_path=args.journal, critical_topics=["exec.#"]), process="pub")
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        nursery.start_soon(functools.partial(bus.dial, "test", UnixTransport(), args.address, bulk=False))
        if args.count:
            with trio.fail_after(10):
                while "test" not in bus.links or not bus.links["test"].wants("exec.request"):
                    await trio.sleep(0.005)
            for i in range(args.count):
                await bus.publish("exec.request", Tick(i), message_id=args.id_base + i)
        print("published", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--id-base", type=int, default=1 << 100)
    trio.run(main, parser.parse_args())
    sys.exit(0)
