"""Bus benchmark: codec, memory hop, Unix/TCP between two processes, and pyzmq as the peer.

Run: .venv/bin/python bench/bus.py   (prints a table, writes bench/results/bus.json)
Fits a 2-core machine in well under two minutes. The sending side of every two-process row is a
child process (this file with --child); the receiver is this process.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import platform
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import attrs  # noqa: E402
import trio  # noqa: E402

import mevbot.config  # noqa: E402,F401  (import order: see tests/bus/conftest.py)
from mevbot.bus.bus import Bus  # noqa: E402
from mevbot.bus.codec import Codec  # noqa: E402
from mevbot.bus.envelope import make_envelope  # noqa: E402
from mevbot.bus.registry import MessageRegistry, register_message  # noqa: E402
from mevbot.bus.settings import BusSettings  # noqa: E402
from transports.tcp import TcpTransport  # noqa: E402
from transports.unix import UnixTransport  # noqa: E402

SECRET = b"bench-secret-0123456789"
HERE = os.path.dirname(os.path.abspath(__file__))


@attrs.frozen
class Sample:
    """The typed benchmark message: a sequence number, a send timestamp and filler bytes."""

    seq: int
    sent_ns: int
    data: bytes


_SAMPLE = struct.Struct("<qq")


def pack_sample(s: Sample) -> bytes:
    return _SAMPLE.pack(s.seq, s.sent_ns) + s.data


def unpack_sample(body: bytes) -> Sample:
    seq, sent_ns = _SAMPLE.unpack_from(body)
    return Sample(seq, sent_ns, body[16:])


register_message(Sample, "bench.sample", 1, pack=pack_sample, unpack=unpack_sample)
JSON_CODEC_REGISTRY = MessageRegistry()
JSON_CODEC_REGISTRY.register(Sample, "bench.sample", 1)


def sample(seq: int, size: int) -> Sample:
    return Sample(seq, time.time_ns(), bytes(size - 16))


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def quantiles_us(values_ns):
    return {"p50_us": round(pct(values_ns, 0.50) / 1000, 2), "p99_us": round(pct(values_ns, 0.99) / 1000, 2)}


# ---- codec ------------------------------------------------------------------------------
def bench_codec(n=30_000):
    rows = {}
    env = make_envelope("market.swap.intent", sample(1, 100), "bench.sample", 1, "bench")
    variants = [("binary layout (hand-written struct)", Codec()),
                ("cattrs -> stdlib json", Codec(JSON_CODEC_REGISTRY))]
    for name, codec in variants:
        frame = codec.encode(env)
        assert codec.decode(frame) == env
        t0 = time.perf_counter_ns()
        for _ in range(n):
            codec.encode(env)
        t1 = time.perf_counter_ns()
        for _ in range(n):
            codec.decode(frame)
        t2 = time.perf_counter_ns()
        rows[name] = {"frame_bytes": len(frame), "encode_us": round((t1 - t0) / n / 1000, 2),
                      "decode_us": round((t2 - t1) / n / 1000, 2)}
    for modname in ("msgpack", "orjson"):
        try:
            __import__(modname)
        except ImportError:
            rows[f"cattrs -> {modname}"] = {"skipped": f"{modname} not installed"}
    return rows


# ---- in-process -------------------------------------------------------------------------
async def bench_memory_channel(n_lat=5000, n_tp=100_000):
    send, receive = trio.open_memory_channel(10_000)
    lat = []
    for i in range(n_lat):
        t0 = time.perf_counter_ns()
        send.send_nowait((i, b"x" * 100))
        await receive.receive()
        lat.append(time.perf_counter_ns() - t0)
    # one-way hop with a separate consumer task, one in flight
    got = trio.Event()
    lat = []
    stamp = [0]

    async def consumer():
        async for _ in receive:
            lat.append(time.perf_counter_ns() - stamp[0])
            got.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        for i in range(n_lat):
            got = trio.Event()
            stamp[0] = time.perf_counter_ns()
            await send.send((i, b"x" * 100))
            await got.wait()
        lat.clear()
        for i in range(n_lat):
            got = trio.Event()
            stamp[0] = time.perf_counter_ns()
            await send.send((i, b"x" * 100))
            await got.wait()
        nursery.cancel_scope.cancel()
    latency = quantiles_us(lat)
    send, receive = trio.open_memory_channel(10_000)
    count = 0

    async def drain():
        nonlocal count
        async for _ in receive:
            count += 1

    t0 = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        for i in range(n_tp):
            await send.send(i)
        await send.aclose()
    return {**latency, "msgs_per_s": round(n_tp / (time.perf_counter() - t0))}


async def bench_bus_memory(n_lat=5000, n_tp=100_000):
    bus = Bus(BusSettings(persist_path=""), process="bench")
    sub = bus.subscribe("bench.hop")
    lat = []
    got_event = [trio.Event()]

    async def consumer():
        while True:
            batch = await sub.receive_batch()
            now = time.perf_counter_ns()
            for env in batch:
                lat.append(now - env.payload.sent_ns)
            got_event[0].set()

    payload_data = bytes(84)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        for _ in range(2):
            lat.clear()
            for i in range(n_lat):
                got_event[0] = trio.Event()
                await bus.publish("bench.hop", Sample(i, time.perf_counter_ns(), payload_data))
                await got_event[0].wait()
        latency = quantiles_us(lat)
        nursery.cancel_scope.cancel()
    sub.close()
    sub = bus.subscribe("bench.tp", queue_size=10_000)
    count = 0

    async def drain():
        nonlocal count
        while count < n_tp:
            count += len(await sub.receive_batch(4096))

    t0 = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(drain)
        for i in range(n_tp):
            await bus.publish("bench.tp", Sample(i, 0, payload_data))
    return {**latency, "msgs_per_s": round(n_tp / (time.perf_counter() - t0))}


# ---- two processes ----------------------------------------------------------------------
def transport_for(kind):
    return UnixTransport() if kind == "unix" else TcpTransport(SECRET)


async def child_bus(kind, address, mode, n, size, coalesce):
    """The other process: dials the parent's bus and either floods samples or echoes pings."""
    bus = Bus(BusSettings(persist_path=""), process="child")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(functools.partial(bus.dial, "parent", transport_for(kind), address, bulk=False))
        with trio.fail_after(10):
            while "parent" not in bus.links or not bus.links["parent"].wants("bench.data" if mode == "flood" else "bench.pong"):
                await trio.sleep(0.005)
        lane = bus.links["parent"].lanes["fast"]
        if not coalesce:
            lane.max_batch_items = 1
        if mode == "flood":
            data = bytes(size - 16)
            for i in range(n):
                await bus.publish("bench.data", Sample(i, time.time_ns(), data))
        else:
            pings = bus.subscribe("bench.ping")
            for _ in range(n):
                env = await pings.receive()
                await bus.publish("bench.pong", env.payload)
        with trio.fail_after(30):  # let the writer flush before we cancel it
            while lane.out or lane.sent == 0:
                await trio.sleep(0.001)
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()


async def parent_bus(kind, mode, n, size, coalesce):
    bus = Bus(BusSettings(persist_path=""), process="parent")
    transport = transport_for(kind)
    address = os.path.join(tempfile.mkdtemp(prefix="mvb-bench-"), "b.sock") if kind == "unix" else "127.0.0.1:0"
    sub = bus.subscribe("bench.data" if mode == "flood" else "bench.pong", queue_size=50_000)
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(bus.serve, transport, address)
        proc = subprocess.Popen([sys.executable, __file__, "--child", kind, bound, mode, str(n),
                                 str(size), str(int(coalesce))])

        async def watch_child():
            while proc.poll() is None:
                await trio.sleep(0.05)
            if proc.returncode != 0:
                raise RuntimeError(f"benchmark child exited with {proc.returncode}")

        nursery.start_soon(watch_child)
        try:
            if mode == "flood":
                count = 0
                first_sent = None
                with trio.fail_after(60):
                    while count < n:
                        batch = await sub.receive_batch(4096)
                        if first_sent is None:
                            first_sent = batch[0].payload.sent_ns
                        count += len(batch)
                elapsed = (time.time_ns() - first_sent) / 1e9
                result = {"msgs_per_s": round(n / elapsed), "MB_per_s": round(n * size / elapsed / 1e6, 1)}
            else:
                with trio.fail_after(10):
                    while "child" not in bus.links or not bus.links["child"].wants("bench.ping"):
                        await trio.sleep(0.005)
                rtts = []
                data = bytes(size - 16)
                for i in range(n):
                    t0 = time.perf_counter_ns()
                    await bus.publish("bench.ping", Sample(i, 0, data))
                    await sub.receive()
                    rtts.append(time.perf_counter_ns() - t0)
                result = quantiles_us(rtts[n // 10:])
        finally:
            with trio.move_on_after(10):
                while proc.poll() is None:
                    await trio.sleep(0.01)
            if proc.poll() is None:
                proc.kill()
        nursery.cancel_scope.cancel()
    return result


def zmq_child(endpoint, back, mode, n, size):
    import zmq
    ctx = zmq.Context()
    codec = Codec()
    if mode == "flood":
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.SNDHWM, 100_000)
        push.connect(endpoint)
        ready = ctx.socket(zmq.PULL)
        ready.connect(back)
        ready.recv()
        data = bytes(size - 16)
        for i in range(n):
            env = make_envelope("bench.data", Sample(i, time.time_ns(), data), "bench.sample", 1, "child")
            push.send(codec.encode(env), copy=False)
        push.close(linger=5000)
        ready.close(linger=0)
    else:
        pull = ctx.socket(zmq.PULL)
        pull.connect(endpoint)
        push = ctx.socket(zmq.PUSH)
        push.connect(back)
        for _ in range(n):
            env = codec.decode(pull.recv())
            push.send(codec.encode(make_envelope("bench.pong", env.payload, "bench.sample", 1, "child")))
        push.close(linger=5000)
        pull.close(linger=0)
    ctx.term()


def zmq_parent(kind, mode, n, size):
    import zmq
    ctx = zmq.Context()
    codec = Codec()
    if kind == "ipc":
        d = tempfile.mkdtemp(prefix="mvb-zmq-")
        ep_a, ep_b = f"ipc://{d}/a", f"ipc://{d}/b"
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    if kind == "tcp":
        port_a = pull.bind_to_random_port("tcp://127.0.0.1")
        port_b = push.bind_to_random_port("tcp://127.0.0.1")
        ep_a, ep_b = f"tcp://127.0.0.1:{port_a}", f"tcp://127.0.0.1:{port_b}"
    else:
        pull.bind(ep_a)
        push.bind(ep_b)
    if mode == "flood":
        proc = subprocess.Popen([sys.executable, __file__, "--zmq-child", ep_a, ep_b, mode, str(n), str(size)])
        push.send(b"go")
        first = codec.decode(pull.recv())
        for _ in range(n - 1):
            codec.decode(pull.recv())
        elapsed = (time.time_ns() - first.payload.sent_ns) / 1e9
        result = {"msgs_per_s": round(n / elapsed), "MB_per_s": round(n * size / elapsed / 1e6, 1)}
    else:
        # the child pulls pings from our PUSH (ep_b) and pushes pongs to our PULL (ep_a)
        proc = subprocess.Popen([sys.executable, __file__, "--zmq-child", ep_b, ep_a, mode, str(n), str(size)])
        data = bytes(size - 16)
        rtts = []
        for i in range(n):
            t0 = time.perf_counter_ns()
            push.send(codec.encode(make_envelope("bench.ping", Sample(i, 0, data), "bench.sample", 1, "p")))
            codec.decode(pull.recv())
            rtts.append(time.perf_counter_ns() - t0)
        result = quantiles_us(rtts[n // 10:])
    proc.wait(timeout=30)
    pull.close(linger=0)
    push.close(linger=0)
    ctx.term()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=6, metavar=("KIND", "ADDR", "MODE", "N", "SIZE", "COALESCE"))
    parser.add_argument("--zmq-child", nargs=5, metavar=("EP", "BACK", "MODE", "N", "SIZE"))
    parser.add_argument("--quick", action="store_true", help="fewer messages (smoke run)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "bus.json"))
    args = parser.parse_args()
    logging.basicConfig(level=os.environ.get("MVB_BENCH_LOG", "WARNING"))
    if args.child:
        kind, address, mode, n, size, coalesce = args.child
        trio.run(child_bus, kind, address, mode, int(n), int(size), coalesce == "1")
        return 0
    if args.zmq_child:
        ep, back, mode, n, size = args.zmq_child
        zmq_child(ep, back, mode, int(n), int(size))
        return 0

    scale = 0.2 if args.quick else 1.0
    n_small = int(200_000 * scale)
    n_large = int(40_000 * scale)
    n_rtt = int(3000 * scale)
    started = time.time()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()},
                     "command": ".venv/bin/python bench/bus.py"}
    results["codec"] = bench_codec()
    results["memory"] = {"trio memory channel (floor)": trio.run(bench_memory_channel),
                         "bus, in-process subscription": trio.run(bench_bus_memory)}
    two = {}
    for kind in ("unix", "tcp"):
        for size, n in ((100, n_small), (4096, n_large)):
            for coalesce in (False, True):
                label = f"bus {kind} {size} B {'coalesced' if coalesce else 'one send per message'}"
                two[label] = trio.run(parent_bus, kind, "flood", n if coalesce else n // 2, size, coalesce)
                print(label, two[label], flush=True)
            two[f"bus {kind} {size} B round trip"] = trio.run(parent_bus, kind, "echo", n_rtt, size, True)
        for size, n in ((100, n_small), (4096, n_large)):
            zkind = "ipc" if kind == "unix" else "tcp"
            two[f"pyzmq {zkind} {size} B"] = zmq_parent(zkind, "flood", n, size)
            two[f"pyzmq {zkind} {size} B round trip"] = zmq_parent(zkind, "echo", n_rtt, size)
            print(f"pyzmq {zkind} {size}", two[f"pyzmq {zkind} {size} B"], flush=True)
    results["two_processes"] = two
    ratios = {}
    for kind, zkind in (("unix", "ipc"), ("tcp", "tcp")):
        for size in (100, 4096):
            ours = two[f"bus {kind} {size} B coalesced"]["msgs_per_s"]
            theirs = two[f"pyzmq {zkind} {size} B"]["msgs_per_s"]
            ratios[f"{kind} {size} B bus/pyzmq throughput"] = round(ours / theirs, 2)
    results["ratios"] = ratios
    results["targets"] = {
        "bus memory hop p50 <= 10 us": results["memory"]["bus, in-process subscription"]["p50_us"] <= 10,
        ">= 300k msg/s 100 B unix": two["bus unix 100 B coalesced"]["msgs_per_s"] >= 300_000,
        ">= 300k msg/s 100 B tcp": two["bus tcp 100 B coalesced"]["msgs_per_s"] >= 300_000,
    }
    results["elapsed_s"] = round(time.time() - started, 1)
    print_table(results)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)
    return 0


def print_table(results):
    print(f"\n{'codec (100 B Sample)':<44} {'bytes':>6} {'enc us':>8} {'dec us':>8}")
    for name, row in results["codec"].items():
        if "skipped" in row:
            print(f"{name:<44} {row['skipped']}")
        else:
            print(f"{name:<44} {row['frame_bytes']:>6} {row['encode_us']:>8} {row['decode_us']:>8}")
    print(f"\n{'workload':<44} {'p50 us':>8} {'p99 us':>8} {'msg/s':>10} {'MB/s':>7}")
    rows = list(results["memory"].items()) + list(results["two_processes"].items())
    for name, row in rows:
        print(f"{name:<44} {row.get('p50_us', ''):>8} {row.get('p99_us', ''):>8} "
              f"{row.get('msgs_per_s', ''):>10} {row.get('MB_per_s', ''):>7}")
    print()
    for name, value in results["ratios"].items():
        print(f"{name:<44} {value}")
    for name, ok in results["targets"].items():
        print(f"target {name:<37} {'met' if ok else 'MISSED'}")
    print(f"elapsed {results['elapsed_s']} s")


if __name__ == "__main__":
    sys.exit(main())
