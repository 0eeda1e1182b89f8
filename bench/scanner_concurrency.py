"""Where the scanner's CPU-heavy search runs: chunked in the event loop, a trio worker thread, or
a worker process, measured side by side on the same intents.

Run from the repository root: ``.venv/bin/python bench/scanner_concurrency.py`` (``--intents N``,
``--seed S``, the market and intents of bench/scanner.py). It prints a table and writes
``bench/results/scanner_concurrency.json`` and ``.md``.

Per intent, the pipeline's part (``PoolStateBook.apply_intent``) runs in the event loop as in the
bot; then the scan of every cycle through the changed pools runs one of three ways:

* **chunked**: in the event loop, one ``Scanner.evaluate`` per cycle, as ``ScannerModule._evaluate``
  does, yielding (``trio.lowlevel.checkpoint``) either after every cycle (**per cycle**, the
  module's old policy) or once ``CHUNK_BUDGET_NS`` (0.5 ms) have passed since the last yield
  (**0.5 ms budget**, the module's ``ChunkClock``).
* **thread**: the whole ``Scanner.scan`` in ``trio.to_thread.run_sync``; the event loop is free,
  but the worker thread holds the GIL, which the loop's thread gets back only when the worker
  waits or at CPython's switch interval (``sys.getswitchinterval()``, 5 ms by default).
* **process**: a forked worker with its own copy of the confirmed states and its own Scanner;
  per intent the event loop pickles the changed pools' states and sends them down a pipe,
  waits (readable) and unpickles the opportunities that come back. Two payloads: the full
  states (what ``pools.state`` carries: V3 bitmap words and liquidityNet included), and only
  what a swap changes (V3 price, tick, liquidity; V2 reserves) applied to the worker's copy.
  And **two shard processes**: two such workers, each scanning its shard of the cycles
  (``[scanner] shard = "0/2"``, ``"1/2"``, mevbot/deploy/shard.py), both sent the swap delta
  at once; the loop merges their answers in order_key order.

While that runs, a probe task in the same event loop sends itself a timestamp every ~1 ms
through a memory channel and records how long the receiving task, ready at once, waits to run:
the event loop's responsiveness to everything else it serves (bus, feed, RPC). "Loop busy" is
the time the loop's own thread spends per intent on the scan's behalf (the chunked steps, the
pickling and unpickling), "longest block" its longest stretch without yielding, in CPU time of
the loop's thread (``time.thread_time``: on a shared machine wall time also counts the moments
the OS ran someone else, which the probe shows).
Timings are wall clock on a shared 2-core machine; CPU time of the event loop's process is
recorded too. GC on, start-up heap frozen (as in the bot).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import attrs  # noqa: E402
import trio  # noqa: E402

from mevbot.deploy.shard import shard_index  # noqa: E402
from mevbot.pricing.v2 import V2PoolState  # noqa: E402
from mevbot.pricing.v3_pool import V3PoolState  # noqa: E402
from mevbot.scanner.engine import Scanner, _ViewMemo  # noqa: E402
from mevbot.runtime.heap import freeze_startup_heap  # noqa: E402
from mevbot.scanner.module import CHUNK_BUDGET_NS, ChunkClock  # noqa: E402
from scanner import WARMUP, setup  # noqa: E402  (bench/scanner.py: the same market and intents)

RESULTS = ROOT / "bench" / "results"
PROBE_PERIOD_S = 0.001
OPTIONS = ("chunked_per_cycle", "chunked_budget", "thread", "process_full_states", "process_swap_delta",
           "two_shard_processes")
SHARDS = 2
BUDGET_NS = CHUNK_BUDGET_NS


# -- what crosses the pipe ------------------------------------------------------------------

def full_state(state) -> tuple:
    if isinstance(state, V2PoolState):
        return ("v2", state.reserve0, state.reserve1, state.fee_numerator, state.fee_denominator)
    return ("v3", state.sqrt_price_x96, state.tick, state.liquidity, state.fee_pips, state.tick_spacing,
            dict(state.bitmap_words), dict(state.liquidity_net_by_tick), state.complete_word_range)


def swap_delta(state) -> tuple:
    if isinstance(state, V2PoolState):
        return ("v2d", state.reserve0, state.reserve1)
    return ("v3d", state.sqrt_price_x96, state.tick, state.liquidity)


def rebuild(fields: tuple, base):
    kind = fields[0]
    if kind == "v2":
        return V2PoolState(*fields[1:])
    if kind == "v3":
        return V3PoolState(*fields[1:])
    if kind == "v2d":
        return attrs.evolve(base, reserve0=fields[1], reserve1=fields[2])
    return attrs.evolve(base, sqrt_price_x96=fields[1], tick=fields[2], liquidity=fields[3])


def worker_main(conn, book, scanner, costs) -> None:
    """The worker process: confirmed states from the fork, changed ones from the pipe."""
    confirmed = {pool: book.view(pool) for pool in book.pools()}
    while True:
        message = conn.recv_bytes()
        if not message:
            return
        changed, seq = pickle.loads(message)
        overlay = {pool: rebuild(fields, confirmed.get(pool)) for pool, fields in changed}

        def view(pool: str, overlay=overlay):
            key = pool.lower()
            state = overlay.get(key)
            return state if state is not None else confirmed.get(key)

        found = scanner.scan([pool for pool, _ in changed], view, costs, block_number=1, seq=seq, tx_index=0)
        conn.send_bytes(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))


# -- the three ways -------------------------------------------------------------------------

class Run:
    def __init__(self) -> None:
        self.latency_ns: list[int] = []  # changed pools known -> opportunities in the loop's hands
        self.loop_busy_ns: list[int] = []  # per intent: the loop's own time on the scan's behalf
        self.longest_block_ns = 0
        self.payload_bytes: list[int] = []
        self.result_bytes: list[int] = []
        self.opportunities = 0
        self.probe_delay_ns: list[int] = []
        self.elapsed_s = 0.0
        self.cpu_s = 0.0

    def block(self, ns: int) -> None:
        if ns > self.longest_block_ns:
            self.longest_block_ns = ns

    def pooled(self, other: Run) -> Run:
        for name in ("latency_ns", "loop_busy_ns", "payload_bytes", "result_bytes", "probe_delay_ns"):
            getattr(self, name).extend(getattr(other, name))
        self.longest_block_ns = max(self.longest_block_ns, other.longest_block_ns)
        self.opportunities += other.opportunities
        self.elapsed_s += other.elapsed_s
        self.cpu_s += other.cpu_s
        return self


def scan_chunked(budget_ns: int | None):
    """ScannerModule._evaluate's loop (without the tick-data fetches the bench never needs)."""
    async def scan(run: Run, scanner, book, costs, changed, seq):
        clock = time.thread_time_ns
        found = []
        busy = 0
        chunk = ChunkClock(budget_ns) if budget_ns is not None else None
        start = clock()
        view = _ViewMemo(book.view).__getitem__  # as the module does
        for cycle in scanner.index.through_any(changed):
            opp = scanner.evaluate(cycle, view, costs, block_number=1, seq=seq, tx_index=0)
            if opp is not None:
                found.append(opp)
            if chunk is None or time.perf_counter_ns() - chunk.since >= chunk.budget_ns:
                spent = clock() - start
                busy += spent
                run.block(spent)
                await (trio.lowlevel.checkpoint() if chunk is None else chunk.tick())
                start = clock()
        spent = clock() - start
        busy += spent
        run.block(spent)
        found.sort(key=lambda o: o.order_key)
        run.loop_busy_ns.append(busy)
        return found
    return scan


async def scan_thread(run: Run, scanner, book, costs, changed, seq):
    found = await trio.to_thread.run_sync(
        lambda: scanner.scan(changed, book.view, costs, block_number=1, seq=seq, tx_index=0))
    run.loop_busy_ns.append(0)
    return found


def scan_shards(run_conns):
    """Every shard worker gets the swap delta, the loop merges their opportunities."""
    async def scan(run: Run, conns, book, changed, seq):
        clock = time.thread_time_ns
        start = clock()
        message = pickle.dumps(([(pool, swap_delta(book.view(pool))) for pool in changed], seq),
                               protocol=pickle.HIGHEST_PROTOCOL)
        for conn in conns:
            conn.send_bytes(message)
        busy = clock() - start
        run.block(busy)
        found, received = [], 0
        for conn in conns:
            await trio.lowlevel.wait_readable(conn.fileno())
            start = clock()
            data = conn.recv_bytes()
            found += pickle.loads(data)
            spent = clock() - start
            busy += spent
            run.block(spent)
            received += len(data)
        found.sort(key=lambda o: o.order_key)
        run.loop_busy_ns.append(busy)
        run.payload_bytes.append(len(message))
        run.result_bytes.append(received)
        return found
    return scan


def scan_process(payload_of):
    async def scan(run: Run, conn, book, changed, seq):
        clock = time.thread_time_ns
        start = clock()
        message = pickle.dumps(([(pool, payload_of(book.view(pool))) for pool in changed], seq),
                               protocol=pickle.HIGHEST_PROTOCOL)
        conn.send_bytes(message)
        sent = clock() - start
        await trio.lowlevel.wait_readable(conn.fileno())
        start = clock()
        data = conn.recv_bytes()
        found = pickle.loads(data)
        received = clock() - start
        run.block(sent)
        run.block(received)
        run.loop_busy_ns.append(sent + received)
        run.payload_bytes.append(len(message))
        run.result_bytes.append(len(data))
        return found
    return scan


async def probe(run: Run, task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Every ~1 ms, a timestamp to a ready receiver: how long a ready task waits to run."""
    send, receive = trio.open_memory_channel(1000)

    async def receiver():
        async for sent_ns in receive:
            run.probe_delay_ns.append(time.perf_counter_ns() - sent_ns)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        task_status.started()
        while True:
            send.send_nowait(time.perf_counter_ns())
            await trio.sleep(PROBE_PERIOD_S)


async def drive(option: str, intents, book, scanner, costs, conn, shard_conns) -> Run:
    run = Run()
    scan = {"chunked_per_cycle": scan_chunked(None), "chunked_budget": scan_chunked(BUDGET_NS),
            "thread": scan_thread}.get(option)
    process_scan = None
    if option == "process_full_states":
        process_scan = scan_process(full_state)
    elif option == "process_swap_delta":
        process_scan = scan_process(swap_delta)
    elif option == "two_shard_processes":
        process_scan, conn = scan_shards(shard_conns), shard_conns
    async with trio.open_nursery() as nursery:
        await nursery.start(probe, run)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for intent in intents:
            outcome = book.apply_intent(intent)  # the pipeline's part, in the loop in every option
            if outcome.applied:
                changed = [pool.lower() for pool in outcome.changed_pools]
                start = time.perf_counter_ns()
                if process_scan is not None:
                    found = await process_scan(run, conn, book, changed, intent.position.seq)
                else:
                    found = await scan(run, scanner, book, costs, changed, intent.position.seq)
                run.latency_ns.append(time.perf_counter_ns() - start)
                run.opportunities += len(found)
                del found
            book.drop_pending([intent.tx_hash])
            await trio.lowlevel.checkpoint()
        run.elapsed_s = time.perf_counter() - wall_start
        run.cpu_s = time.process_time() - cpu_start
        nursery.cancel_scope.cancel()
    return run


async def idle_probe(seconds: float) -> list[int]:
    run = Run()
    with trio.move_on_after(seconds):
        await probe(run)
    return run.probe_delay_ns


# -- report ---------------------------------------------------------------------------------

def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def us(values) -> dict:
    v = [x / 1000 for x in values]
    return {"p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1),
            "max": round(max(v), 1) if v else 0.0, "mean": round(statistics.mean(v), 1) if v else 0.0}


def summarise(run: Run) -> dict:
    n = len(run.latency_ns)
    return {"intents_scanned": n, "opportunities": run.opportunities,
            "latency_us": us(run.latency_ns),
            "throughput_intents_per_s": round(n / run.elapsed_s, 1),
            "loop_busy_per_intent_us": us(run.loop_busy_ns),
            "longest_loop_block_us": round(run.longest_block_ns / 1000, 1),
            "probe_delay_us": us(run.probe_delay_ns), "probes": len(run.probe_delay_ns),
            "event_loop_process_cpu_per_intent_us": round(run.cpu_s / max(1, n) * 1e6, 1),
            "payload_bytes_mean": round(statistics.mean(run.payload_bytes)) if run.payload_bytes else None,
            "result_bytes_mean": round(statistics.mean(run.result_bytes)) if run.result_bytes else None}


def median_of_rounds(rounds: list[dict]) -> dict:
    """Each figure's median over the rounds: a burst of other work on the shared machine during
    one round does not decide a percentile."""
    out = {}
    for key, value in rounds[0].items():
        if isinstance(value, dict):
            out[key] = median_of_rounds([r[key] for r in rounds])
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = round(statistics.median(r[key] for r in rounds), 1)
        else:
            out[key] = value
    return out


def conclusion(r: dict) -> str:
    per, budget, th = r["chunked_per_cycle"], r["chunked_budget"], r["thread"]
    full, delta, shards = r["process_full_states"], r["process_swap_delta"], r["two_shard_processes"]
    text = (
        f"Yielding after every cycle costs a trio checkpoint (~4-5 µs) per cycle, more than most cycles' "
        f"evaluation: per cycle the scan takes {per['latency_us']['p50']:,.0f} µs p50 / "
        f"{per['latency_us']['p99']:,.0f} µs p99 per intent ({per['throughput_intents_per_s']:,.0f} intents/s), "
        f"with the {BUDGET_NS / 1e6:g} ms budget {budget['latency_us']['p50']:,.0f} / {budget['latency_us']['p99']:,.0f} µs "
        f"({budget['throughput_intents_per_s']:,.0f}/s), its longest block {budget['longest_loop_block_us']:,.0f} µs of "
        f"CPU and a ready task's wait p99 {budget['probe_delay_us']['p99']:,.0f} µs (per cycle: "
        f"{per['probe_delay_us']['p99']:,.0f} µs). "
        f"In a worker thread the scan and the loop share the GIL (a ready task's wait p99 "
        f"{th['probe_delay_us']['p99']:,.0f} µs, max {th['probe_delay_us']['max']:,.0f} µs); nothing runs in "
        f"parallel, and the hand-offs cost the scan: "
        f"{th['latency_us']['p50']:,.0f} µs p50 / {th['latency_us']['p99']:,.0f} µs p99 "
        f"({th['throughput_intents_per_s']:,.0f}/s). "
        f"A worker process runs the search beside the loop, which spends {full['loop_busy_per_intent_us']['p50']:,.0f} µs "
        f"p50 per intent pickling the full states out ({full['payload_bytes_mean']:,.0f} bytes) and unpickling the "
        f"opportunities ({full['result_bytes_mean']:,.0f} bytes), {delta['loop_busy_per_intent_us']['p50']:,.0f} µs with "
        f"only what a swap changes ({delta['payload_bytes_mean']:,.0f} bytes out); its latency, two pipe hops and a "
        f"second process on the same two cores, is {delta['latency_us']['p50']:,.0f} µs p50 / "
        f"{delta['latency_us']['p99']:,.0f} µs p99. Two shard processes, each scanning half the cycles on its "
        f"own core: {shards['latency_us']['p50']:,.0f} µs p50 / {shards['latency_us']['p99']:,.0f} µs p99 "
        f"({shards['throughput_intents_per_s']:,.0f}/s), the loop busy {shards['loop_busy_per_intent_us']['p50']:,.0f} µs "
        f"p50 per intent. ")
    if budget["longest_loop_block_us"] <= 1000 and budget["latency_us"]["p50"] <= min(
            th["latency_us"]["p50"], delta["latency_us"]["p50"], shards["latency_us"]["p50"]):
        text += (f"So the scanner stays in the event loop, chunked by a {BUDGET_NS / 1e6:g} ms budget (ScannerModule, ChunkClock): "
                 "the lowest latency and the highest throughput, with blocks within the ~1 ms the issue allows "
                 "and no state to ship. A process is the way to more than one core's worth of scanning (the "
                 "module's shards, one process each, already are that), shipping swap deltas rather than states.")
    else:
        text += ("On this run the budgeted loop did not have the lowest latency with blocks within ~1 ms on its own: "
                 "see the table (the shard processes need a core each, which the shared machine did not always give).")
    return text


def render(s: dict, args) -> str:
    r = s["options"]
    lines = [
        "# Scanner concurrency: chunked in the event loop, worker thread, worker process",
        "",
        f"`.venv/bin/python bench/scanner_concurrency.py --intents {args.intents} --seed {args.seed}` — the "
        f"market and intents of bench/scanner.py ({s['workload']['intents']} intents after {WARMUP} warm-up, "
        f"each option on the same ones, {args.rounds} rounds in rotating order, each figure the median over the "
        f"rounds); a probe in the event loop sends itself a timestamp every "
        f"{PROBE_PERIOD_S * 1000:.0f} ms and records how long the ready receiver waits. Python "
        f"{s['machine']['python']}, {s['machine']['cpus']} cores shared with other work (load average "
        f"{s['machine']['load_average_before']} before, {s['machine']['load_average_after']} after), GIL switch "
        f"interval {s['machine']['switch_interval_ms']} ms, GC on (start-up heap frozen).",
        "",
        "| option | latency p50 (µs) | latency p99 (µs) | intents/s | loop busy per intent p50 (µs) "
        "| longest loop block (µs) | probe wait p50 (µs) | probe wait p99 (µs) | probe wait max (µs) "
        "| loop process CPU per intent (µs) | bytes out / back |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    idle = s["idle_probe_delay_us"]
    lines.append(f"| idle loop (no scanning) | | | | | | {idle['p50']:,.0f} | {idle['p99']:,.0f} | {idle['max']:,.0f} | | |")
    for name in OPTIONS:
        o = r[name]
        size = (f"{o['payload_bytes_mean']:,.0f} / {o['result_bytes_mean']:,.0f}" if o["payload_bytes_mean"] else "")
        block = "" if name == "thread" else f"{o['longest_loop_block_us']:,.0f}"
        lines.append(f"| {name.replace('_', ' ')} | {o['latency_us']['p50']:,.0f} | {o['latency_us']['p99']:,.0f} | "
                     f"{o['throughput_intents_per_s']:,.0f} | {o['loop_busy_per_intent_us']['p50']:,.0f} | {block} | "
                     f"{o['probe_delay_us']['p50']:,.0f} | {o['probe_delay_us']['p99']:,.0f} | "
                     f"{o['probe_delay_us']['max']:,.0f} | {o['event_loop_process_cpu_per_intent_us']:,.0f} | {size} |")
    lines += ["", "The thread's loop is not blocked by its own code (no loop-busy figure): its cost to the loop is the "
              "GIL, visible in the probe. Every option reports the same opportunities "
              f"({', '.join(str(r[n]['opportunities']) for n in OPTIONS)}).", "", "**Conclusion.** " + s["conclusion"]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--budget-us", type=int, default=CHUNK_BUDGET_NS // 1000,
                        help="the chunked option's budget (default: the scanner module's CHUNK_BUDGET_NS)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="passes of every option, in rotating order; each figure is the median over them")
    args = parser.parse_args()
    global BUDGET_NS
    BUDGET_NS = args.budget_us * 1000

    load_before = os.getloadavg()
    tokens, pools, book, scanner, reference, costs, intents = setup(args.seed, args.intents + WARMUP)
    warm, timed = intents[:WARMUP], intents[WARMUP:]
    for intent in warm:  # the confirmed states' walks, in this process (forked into the worker)
        outcome = book.apply_intent(intent)
        if outcome.applied:
            scanner.scan(outcome.changed_pools, book.view, costs, block_number=1)
        book.drop_pending([intent.tx_hash])
    freeze_startup_heap()
    context = multiprocessing.get_context("fork")  # before trio starts: the worker inherits the warm states
    parent, child = context.Pipe()
    worker = context.Process(target=worker_main, args=(child, book, scanner, costs), daemon=True)
    worker.start()
    child.close()
    shard_conns, shard_workers = [], []
    for shard in range(SHARDS):
        mine, theirs = context.Pipe()
        sharded = Scanner(shard_index(scanner.index, shard, SHARDS), filters=scanner.filters, weth=scanner.weth,
                          dex_of=scanner.dex_of)
        shard_workers.append(context.Process(target=worker_main, args=(theirs, book, sharded, costs), daemon=True))
        shard_workers[-1].start()
        theirs.close()
        shard_conns.append(mine)

    async def all_options() -> dict:
        results = {"idle": await idle_probe(1.0)}
        for round_ in range(args.rounds):  # rotating order: a burst of load on the shared machine spreads
            for name in OPTIONS[round_ % len(OPTIONS):] + OPTIONS[:round_ % len(OPTIONS)]:
                run = await drive(name, timed, book, scanner, costs, parent, shard_conns)
                results.setdefault(name, []).append(run)
        return results

    try:
        runs = trio.run(all_options)
    finally:
        for conn in (parent, *shard_conns):
            conn.send_bytes(b"")
        for process in (worker, *shard_workers):
            process.join(timeout=10)
    load_after = os.getloadavg()
    options = {name: median_of_rounds([summarise(run) for run in runs[name]]) for name in OPTIONS}
    counts = {options[n]["opportunities"] for n in OPTIONS}
    if len(counts) != 1:
        raise SystemExit(f"the options found different opportunities: {counts}")
    summary = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "switch_interval_ms": round(sys.getswitchinterval() * 1000, 3), "gc": "enabled, start-up heap frozen",
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in load_after]},
        "workload": {"seed": args.seed, "pools": len(pools), "cycles": len(scanner.index.cycles),
                     "intents": len(timed), "warmup_intents": WARMUP, "rounds": args.rounds},
        "idle_probe_delay_us": us(runs["idle"]),
        "options": options,
    }
    summary["conclusion"] = conclusion(options)
    md = render(summary, args)
    print(md)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scanner_concurrency.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "scanner_concurrency.md").write_text(md + "\n")
    return 0


if __name__ == "__main__":
    gc.collect()
    raise SystemExit(main())
