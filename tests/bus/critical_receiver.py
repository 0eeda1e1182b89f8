"""A real receiving process for the critical-delivery fault tests (python -m tests.bus.critical_receiver).

It is process "recv": it dials the test's bus over a Unix socket and consumes ``exec.request``
through an ``ack="manual"`` subscription, printing ``handled SEQ`` (flushed) for each message
before acknowledging it. With ``--handle K`` it handles the first K, then takes one more and
never finishes it (a request held at a paused module's gate), waits until ``--queued`` more
are queued unhandled behind it, prints ``queued`` and stays up until killed. Without it,
it handles everything. With ``--held N`` it dials first and subscribes only once N critical
messages are held for want of a subscriber (a module subscribing after the links are up, as
after a restart), printing ``held``.
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

import tests.bus.messages  # noqa: F401  (registers Tick)


async def until(condition, timeout_s=15.0) -> None:
    with trio.fail_after(timeout_s):
        while not condition():
            await trio.sleep(0.005)  # polling a real condition with a deadline


async def main(args) -> None:
    bus = Bus(BusSettings(persist_path=args.journal, critical_topics=["exec.#"]), process="recv")
    dial = functools.partial(bus.dial, "test", UnixTransport(), args.address, bulk=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(bus.run)
        if args.held:
            nursery.start_soon(dial)
            await until(lambda: bus.handover.held == args.held)
            print("held", flush=True)
        sub = bus.subscribe("exec.request", name="recv.requests", ack="manual", queue_size=100_000)
        if not args.held:
            nursery.start_soon(dial)
        handled = 0
        while args.handle < 0 or handled < args.handle:
            env = await sub.receive()
            print("handled", env.payload.seq, flush=True)
            sub.ack(env)
            handled += 1
        await sub.receive()  # taken, never finished
        await until(lambda: sub.depth == args.queued)
        print("queued", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--handle", type=int, default=-1)
    parser.add_argument("--queued", type=int, default=0)
    parser.add_argument("--held", type=int, default=0)
    trio.run(main, parser.parse_args())
    sys.exit(0)
