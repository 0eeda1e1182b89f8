"""Scanner benchmark: swap intent to opportunity decision, per intent, on 50+ pools.

Run from the repository root: ``.venv/bin/python bench/scanner.py --intents 300 --seed 2026``
(the defaults). It prints a table and writes ``bench/results/scanner.json`` and
``bench/results/scanner.md`` (a section for docs/performance.md).

What is timed, per intent, is the bot's whole decision path after the parser:
``PoolStateBook.apply_intent`` (the pending swap simulated exactly on the speculative state)
then ``Scanner.decide`` over every cycle through the pools it changed (the real scanner: the
marginal-rate prune, each survivor's profit bound, then best bound first the float pre-search
and the exact sizing on the integer simulator, gas and L1 cost, filters, until no candidate
left can beat the best one): "intent → decision", what the scanner publishes first and risk
receives first. Then ``Scanner.complete`` sizes the other candidates exactly: "intent → all
opportunities". Nothing else is included (no bus, no I/O). The same intents then run through
``ReferenceScanner`` (the unoptimised search: no prune, golden-section over [1, max_input] on
simulate_v3_swap, every cycle sized), and the two complete sets are compared opportunity by
opportunity, and the decision with the reference's best. Timings are wall and CPU
(``time.process_time``) per intent; the load average of the shared machine is recorded before
and after. Only the default run (``--intents 300 --seed 2026``) writes the results files.

Workload (synthetic, in memory; a latency benchmark needs no chain): 10 tokens, WETH the start
token, 56 pools: every token paired with WETH on Uniswap V2, SushiSwap, V3 0.05 % and V3 0.3 %,
plus stable/stable and token/USDC pools (V2 and V3), giving 2- and 3-hop cycles. Each V3 pool
has a full-range position and 30 ranges within +-2,000 ticks (so swaps cross initialised
ticks); every pool's price is the token's USD price with a random skew of ~0.03 %, so the
confirmed state is nearly arbitrage-free and gaps come from the intents. Intents are exact-input swaps of $100 to $500k (log-uniform) on a random pool, a fifth of
them 2-hop routes through WETH. After each intent its pending state is dropped (outside the
timing), as when its block confirms, so every intent starts from the same confirmed prices.
Settings are the bot's defaults: [scanner] max_hops 3, min_profit 1e12 wei, profit/cost 1.2,
max_evaluations 64; [risk] max_trade_wei 1e20; gas price 0.02 gwei, L1 2,000 gas at 0.01 gwei.

The V3 swap simulator itself is compared with ``@uniswap/v3-sdk`` in ``bench/pricing.py``;
this script quotes that result (bench/results/pricing.json) next to its own figures.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import attrs  # noqa: E402

from mevbot.parser.messages import FeedPosition, PoolKind, RouterKind, SwapHop, SwapIntent  # noqa: E402
from mevbot.pools.state import PoolSnapshot, PoolStateBook  # noqa: E402
from mevbot.pricing.tick_math import MAX_TICK, get_tick_at_sqrt_ratio  # noqa: E402
from mevbot.pricing.v2 import V2PoolState  # noqa: E402
from mevbot.pricing.v3_pool import V3PoolState, simulate_v3_swap, v3_state_from_positions  # noqa: E402
from mevbot.scanner.cycles import build_cycle_index  # noqa: E402
from mevbot.scanner.engine import CostInputs, DecisionFirst, ReferenceScanner, ScanFilters, Scanner, _ViewMemo  # noqa: E402
from mevbot.runtime.heap import freeze_startup_heap  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGET_P99_US = 1000.0
WARMUP = 200
# The run whose results are written (bench/results/scanner.{md,json}); any other only prints
DEFAULT_INTENTS, DEFAULT_SEED, DEFAULT_PROFILE_INTENTS = 300, 2026, 500

# symbol, decimals, USD price
TOKENS = [("WETH", 18, 3000.0), ("USDC", 6, 1.0), ("USDT", 6, 1.0), ("DAI", 18, 1.0), ("WBTC", 8, 60000.0),
          ("ARB", 18, 0.8), ("LINK", 18, 15.0), ("UNI", 18, 8.0), ("GMX", 18, 30.0), ("PEPE", 18, 0.00001)]
# (symbol a, symbol b, dex, fee pips) beyond every token's four WETH pools
CROSS_POOLS = [("USDC", "USDT", "uniswap_v3", 100), ("USDC", "USDT", "uniswap_v2", 3000),
               ("USDC", "DAI", "uniswap_v3", 100), ("USDC", "DAI", "sushiswap", 3000),
               ("USDT", "DAI", "uniswap_v3", 100), ("WBTC", "USDC", "uniswap_v3", 3000),
               ("WBTC", "USDC", "uniswap_v2", 3000), ("WBTC", "USDT", "uniswap_v3", 500),
               ("ARB", "USDC", "uniswap_v3", 3000), ("ARB", "USDC", "sushiswap", 3000),
               ("LINK", "USDC", "uniswap_v2", 3000), ("UNI", "USDC", "uniswap_v2", 3000),
               ("GMX", "USDC", "uniswap_v3", 3000), ("GMX", "USDT", "uniswap_v2", 3000),
               ("PEPE", "USDC", "uniswap_v3", 10000), ("LINK", "USDT", "uniswap_v3", 3000),
               ("UNI", "USDT", "sushiswap", 3000), ("ARB", "USDT", "uniswap_v2", 3000),
               ("WBTC", "DAI", "sushiswap", 3000), ("LINK", "DAI", "uniswap_v3", 3000)]
SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
SKEW = 0.0003


@attrs.frozen
class BenchPool:
    address: str
    dex: str
    kind: PoolKind
    token0: str
    token1: str
    fee_pips: int


def build_market(rng: random.Random):
    """(tokens by symbol, pools, confirmed states) of the synthetic market."""
    tokens = {sym: ("0x" + rng.randbytes(20).hex(), dec, usd) for sym, dec, usd in TOKENS}
    specs = []
    for sym, _, _ in TOKENS[1:]:
        specs += [(sym, "WETH", "uniswap_v2", 3000), (sym, "WETH", "sushiswap", 3000),
                  (sym, "WETH", "uniswap_v3", 500), (sym, "WETH", "uniswap_v3", 3000)]
    specs += CROSS_POOLS
    pools, states = [], {}
    for a, b, dex, fee in specs:
        (addr_a, dec_a, usd_a), (addr_b, dec_b, usd_b) = tokens[a], tokens[b]
        if addr_a > addr_b:
            (addr_a, dec_a, usd_a), (addr_b, dec_b, usd_b) = (addr_b, dec_b, usd_b), (addr_a, dec_a, usd_a)
        kind = PoolKind.V3 if dex == "uniswap_v3" else PoolKind.V2
        pool = BenchPool("0x" + rng.randbytes(20).hex(), dex, kind, addr_a, addr_b, fee)
        tvl_usd = 10 ** rng.uniform(5.3, 6.7)  # $200k .. $5M
        # raw token1 per raw token0, skewed by a few hundredths of a percent per pool: the
        # confirmed state is close to arbitrage-free, as after the last block's arbitrages
        price = usd_a / usd_b * 10 ** (dec_b - dec_a) * (1 + rng.gauss(0, SKEW))
        x = tvl_usd / 2 / usd_a * 10**dec_a
        if kind is PoolKind.V2:
            states[pool.address] = V2PoolState(int(x), int(x * price))
        else:
            states[pool.address] = v3_state(rng, price, math.sqrt(x * x * price), fee)
        pools.append(pool)
    return tokens, pools, states


def v3_state(rng: random.Random, price: float, full_range_liquidity: float, fee: int) -> V3PoolState:
    spacing = SPACING[fee]
    sqrt_price = int(math.sqrt(price) * 2**96)
    tick = get_tick_at_sqrt_ratio(sqrt_price)
    low_usable, high_usable = -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
    ranges = [(low_usable, high_usable, int(full_range_liquidity * 0.4))]
    for _ in range(30):
        low = (tick + rng.randrange(-2000, 2000)) // spacing * spacing
        high = low + spacing * rng.randrange(1, max(2, 600 // spacing))
        ranges.append((max(low, low_usable), min(high, high_usable), int(full_range_liquidity * rng.uniform(0.05, 0.6))))
    return v3_state_from_positions(sqrt_price, fee, spacing, ranges)


def make_intents(rng: random.Random, tokens, pools, count: int) -> list[SwapIntent]:
    usd_of = {addr: (dec, usd) for addr, dec, usd in tokens.values()}
    weth = tokens["WETH"][0]
    by_pair = defaultdict(list)
    for p in pools:
        by_pair[frozenset((p.token0, p.token1))].append(p)
    intents = []
    for i in range(count):
        pool = rng.choice(pools)
        token_in, token_out = (pool.token0, pool.token1) if rng.random() < 0.5 else (pool.token1, pool.token0)
        route = [(pool, token_in, token_out)]
        if rng.random() < 0.2 and weth in (token_in, token_out):
            # a 2-hop route through WETH: X -> WETH -> Y
            other = token_in if token_out == weth else token_out
            onward = [p for p in pools if weth in (p.token0, p.token1) and other not in (p.token0, p.token1)]
            second = rng.choice(onward)
            if token_out == weth:
                route.append((second, weth, second.token0 if second.token1 == weth else second.token1))
            else:
                route.insert(0, (second, second.token0 if second.token1 == weth else second.token1, weth))
        dec, usd = usd_of[route[0][1]]
        amount = int(10 ** rng.uniform(2, math.log10(5e5)) / usd * 10**dec)
        hops = tuple(SwapHop(p.kind, p.dex, tin, tout, p.fee_pips if p.kind is PoolKind.V3 else None, p.address, True)
                     for p, tin, tout in route)
        v3 = route[0][0].kind is PoolKind.V3
        intents.append(SwapIntent(
            dex=route[0][0].dex, router_kind=RouterKind.V3_SWAP_ROUTER if v3 else RouterKind.V2_ROUTER02,
            router="0x" + "77" * 20, method="exactInput" if v3 else "swapExactTokensForTokens", hops=hops,
            token_in=hops[0].token_in, token_out=hops[-1].token_out, exact_input=True, amount_in=max(amount, 1),
            amount_out_min=0, amount_out=None, amount_in_max=None, recipient="0x" + "88" * 20, deadline=None,
            tx_hash=f"0x{i:064x}", position=FeedPosition(seq=i, tx_index=0)))
    return intents


def setup(seed: int, count: int):
    rng = random.Random(seed)
    tokens, pools, states = build_market(rng)
    book = PoolStateBook()
    for address, state in states.items():
        book.set_snapshot(PoolSnapshot(address, state, 1))
    weth = tokens["WETH"][0]
    index = build_cycle_index(pools, start_tokens=[weth], max_hops=3)
    dexes = {p.address: p.dex for p in pools}
    scanner = Scanner(index, filters=ScanFilters(min_profit=10**12, min_profit_to_cost=1.2, max_input=10**20,
                                                 max_evaluations=64),
                      weth=weth, dex_of=lambda p: dexes.get(p, ""))
    costs = CostInputs(gas_price_wei=2 * 10**7, l1_cost_wei=2000 * 10**7)
    reference = ReferenceScanner(index, filters=scanner.filters, weth=weth, dex_of=scanner.dex_of)
    return tokens, pools, book, scanner, reference, costs, make_intents(rng, tokens, pools, count)


def decide(book: PoolStateBook, scanner: Scanner, costs: CostInputs, intent: SwapIntent):
    """The timed path to the decision (what risk receives first): apply the intent, the float
    estimates and bounds of the cycles through its pools, exact passes in bound order until no
    other candidate can beat the best one. ``(outcome, plan, view)``; plan.decision is it."""
    outcome = book.apply_intent(intent)
    if not outcome.applied:
        return outcome, None, None
    view = _ViewMemo(book.view).__getitem__  # as Scanner.scan does
    plan = scanner.decide(outcome.changed_pools, view, costs, block_number=1, seq=intent.position.seq,
                          tx_index=intent.position.tx_index, trigger_tx=intent.tx_hash)
    return outcome, plan, view


def complete(scanner: Scanner, costs: CostInputs, intent: SwapIntent, plan, view) -> list:
    """The rest of the timed path: every other candidate sized exactly; all opportunities,
    the decision first."""
    if plan is None:
        return []
    return scanner.complete(plan, view, costs, block_number=1, seq=intent.position.seq,
                            tx_index=intent.position.tx_index, trigger_tx=intent.tx_hash)


class GcPauses:
    """Collector pauses (generation, ns) while installed: part of the latency, reported apart."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, int]] = []
        self._start = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter_ns()
        else:
            self.pauses.append((info["generation"], time.perf_counter_ns() - self._start))

    def summary(self) -> dict:
        out = {}
        for generation in (0, 1, 2):
            ns = [p for g, p in self.pauses if g == generation]
            out[f"gen{generation}"] = {"count": len(ns), "max_us": round(max(ns) / 1000, 1) if ns else 0.0,
                                       "total_us": round(sum(ns) / 1000, 1)}
        return out


def timed_run(book, scanner, costs, intents):
    """Per intent: wall and CPU ns to the decision and to all opportunities, cycles through the
    changed pools, cycles sized (not pruned), simulations, exact passes before the decision; the
    opportunities found and the decision. ReferenceScanner decides nothing early: its decision
    is the first of its complete list, so both of its timings are the complete scan's."""
    reference = isinstance(scanner, ReferenceScanner)
    wall, cpu, wall_all, cpu_all, cycles, sized, sims, exact_before = [], [], [], [], [], [], [], []
    found_all, decisions_all = [], []
    applied = decisions = decision_first = 0
    counters = scanner.counters
    for intent in intents:
        before = (counters.cycles_evaluated, counters.pruned, counters.simulations)
        cpu_start = time.process_time_ns()
        start = time.perf_counter_ns()
        if reference:
            outcome = book.apply_intent(intent)
            found = scanner.scan(outcome.changed_pools, book.view, costs, block_number=1, seq=intent.position.seq,
                                 tx_index=intent.position.tx_index, trigger_tx=intent.tx_hash) if outcome.applied else []
            best = found[0] if found else None
            decided_wall, decided_cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu_start
            done_wall, done_cpu = decided_wall, decided_cpu
            plan = None
        else:
            outcome, plan, view = decide(book, scanner, costs, intent)
            decided_wall, decided_cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu_start
            found = complete(scanner, costs, intent, plan, view)
            done_wall, done_cpu = time.perf_counter_ns() - start, time.process_time_ns() - cpu_start
            best = plan.decision if plan is not None else None
        wall.append(decided_wall)
        cpu.append(decided_cpu)
        wall_all.append(done_wall)
        cpu_all.append(done_cpu)
        cycles.append(counters.cycles_evaluated - before[0])
        sized.append(cycles[-1] - (counters.pruned - before[1]))
        sims.append(counters.simulations - before[2])
        exact_before.append(plan.exact_passes if plan is not None else 0)
        applied += outcome.applied
        decisions += best is not None
        decision_first += best is (found[0] if found else None)  # the decision is the best of all
        # Outside the timing: keep plain tuples, not the objects. The bot publishes and drops
        # its opportunities; keeping thousands alive here would make each GC pass of the timed
        # run traverse them, a cost the bot does not have.
        found_all.append([record(o, book.view) for o in found])
        decisions_all.append(record(best, book.view) if best is not None else None)
        del outcome, best, found, plan
        book.drop_pending([intent.tx_hash])  # the block confirmed: back to the confirmed state
    return {"wall": wall, "cpu": cpu, "wall_all": wall_all, "cpu_all": cpu_all, "cycles": cycles, "sized": sized,
            "sims": sims, "exact_before_decision": exact_before, "applied": applied, "decisions": decisions,
            "decision_is_best_of_all": decision_first, "found": found_all, "decision": decisions_all}


def record(opp, view) -> tuple:
    """(cycle key, gross profit, net profit in wei, amount in, grains): what compare() reads."""
    return opp.cycle_key, opp.gross_profit, opp.net_profit_wei, opp.amount_in, grains(opp, view)


def phase_run(book, scanner: Scanner, costs, intents):
    """CPU ns per intent in each phase of the scan, run phase by phase (the same calls in the
    same order as Scanner.decide and Scanner.complete): apply_intent; the candidates (the prune
    over every cycle, the float pre-search and bound of the survivors); the exact passes until
    the decision is made; the exact passes, routes and opportunities of the rest. The first
    three are the decision's latency."""
    phases = {"apply_intent": [], "candidates": [], "decision": [], "rest": []}
    clock = time.process_time_ns
    for intent in intents:
        t0 = clock()
        outcome = book.apply_intent(intent)
        t1 = clock()
        view = _ViewMemo(book.view).__getitem__  # as Scanner.scan does
        plan = DecisionFirst(scanner.candidates(outcome.changed_pools, view, costs) if outcome.applied else [])
        t2 = clock()
        while (candidate := plan.next_to_decide()) is not None:
            if candidate[5] is None:
                plan.requeue(scanner.refine(candidate, view, costs))
            else:
                plan.record(scanner.size(candidate, view, costs, block_number=1))
        t3 = clock()
        for candidate in plan.undecided():
            plan.add(scanner.size(candidate, view, costs, block_number=1))
        plan.opportunities()
        t4 = clock()
        for name, ns in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            phases[name].append(ns)
        book.drop_pending([intent.tx_hash])
    return phases


def evaluate_steps(book, scanner: Scanner, costs, intents) -> dict[str, list[int]]:
    """Wall and CPU ns of the scanner module's units of work between checkpoints: one
    Scanner.candidate per cycle, then one Scanner.size per candidate (wall includes the other
    processes preempting this one on the shared cores)."""
    steps = {"candidate_wall": [], "candidate_cpu": [], "size_wall": [], "size_cpu": []}
    for intent in intents:
        outcome = book.apply_intent(intent)
        if outcome.applied:
            candidates = []
            for cycle in scanner.index.through_any(outcome.changed_pools):
                cpu_start = time.process_time_ns()
                start = time.perf_counter_ns()
                candidate = scanner.candidate(cycle, book.view, costs)
                steps["candidate_wall"].append(time.perf_counter_ns() - start)
                steps["candidate_cpu"].append(time.process_time_ns() - cpu_start)
                if candidate is not None:
                    candidates.append(candidate)
            for candidate in candidates:
                cpu_start = time.process_time_ns()
                start = time.perf_counter_ns()
                scanner.size(candidate, book.view, costs, block_number=1)
                steps["size_wall"].append(time.perf_counter_ns() - start)
                steps["size_cpu"].append(time.process_time_ns() - cpu_start)
        book.drop_pending([intent.tx_hash])
    return steps


def profile_run(book, scanner, costs, intents) -> list[tuple[str, int, float, float]]:
    profiler = cProfile.Profile()
    profiler.enable()
    for intent in intents:
        _, plan, view = decide(book, scanner, costs, intent)
        complete(scanner, costs, intent, plan, view)
        book.drop_pending([intent.tx_hash])
    profiler.disable()
    rows = []
    for (path, line, name), (_cc, ncalls, tottime, cumtime, _callers) in pstats.Stats(profiler).stats.items():
        rows.append((f"{Path(path).name}:{line}({name})", ncalls, tottime, cumtime))
    rows.sort(key=lambda r: -r[2])
    return rows[:10]


def grains(opp, view) -> float:
    """One unit of each intermediate token of the route, valued in start-token units at the
    route's marginal rates (finite differences on the exact simulator), as tests/scanner do."""
    total, rate = 0.0, 1.0
    for hop in opp.route[:-1]:
        state = view(hop.pool)
        zero_for_one = hop.token_in.lower() < hop.token_out.lower()
        step = max(hop.amount_in // 10**6, -(-1000 * hop.amount_in // max(1, hop.amount_out)))
        bigger = hop.amount_in + step
        out = (state.amount_out(bigger, zero_for_one) if isinstance(state, V2PoolState)
               else simulate_v3_swap(state, zero_for_one, bigger).amount_out)
        rate *= (out - hop.amount_out) / step
        total += 1 / rate
    return total + 1


def compare(found: list[list], reference: list[list], decisions: list) -> dict:
    """Scanner vs ReferenceScanner, intent by intent, cycle by cycle (on record() tuples); and
    the scanner's decision against the reference's best (first by net profit, then cycle key)."""
    common = missing = extra = better = worse = 0
    kept_fast = kept_ref = 0
    worst_loss_in_grains = 0.0
    same_best = intents_with = 0
    best_kept = []
    for mine, theirs, decision in zip(found, reference, decisions):
        a = {o[0]: o for o in mine}
        b = {o[0]: o for o in theirs}
        missing += len(b.keys() - a.keys())
        extra += len(a.keys() - b.keys())
        for key in a.keys() & b.keys():
            common += 1
            loss = b[key][1] - a[key][1]
            better += loss < 0
            worse += loss > 0
            worst_loss_in_grains = max(worst_loss_in_grains, loss / (2 * b[key][4] + (b[key][1] >> 30)))
            kept_fast += a[key][1]
            kept_ref += b[key][1]
        if b:
            intents_with += 1
            best_ref = min(theirs, key=lambda o: (-o[2], o[0]))
            same_best += decision is not None and decision[0] == best_ref[0]
            best_kept.append(decision[2] / best_ref[2] if decision else 0.0)
    return {"opportunities_reference": common + missing, "opportunities_scanner": common + extra,
            "same_cycle": common, "missing_in_scanner": missing, "extra_in_scanner": extra,
            "scanner_more_profit": better, "scanner_less_profit": worse,
            "worst_loss_in_tolerances": round(worst_loss_in_grains, 3),
            "gross_profit_kept": round(kept_fast / max(1, kept_ref), 9),
            "intents_with_an_opportunity": intents_with, "decision_same_cycle_as_reference_best": same_best,
            "decision_net_profit_kept_min": round(min(best_kept), 6) if best_kept else None,
            "decision_net_profit_kept_mean": round(statistics.mean(best_kept), 6) if best_kept else None}


def full_collection_us() -> float:
    start = time.perf_counter_ns()
    gc.collect()
    return round((time.perf_counter_ns() - start) / 1000, 1)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def dist(values, scale: float = 1000.0) -> dict:
    v = [x / scale for x in values]
    return {"p50": round(percentile(v, 0.5), 1), "p90": round(percentile(v, 0.9), 1),
            "p99": round(percentile(v, 0.99), 1), "max": round(max(v), 1), "mean": round(statistics.mean(v), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=DEFAULT_INTENTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--profile-intents", type=int, default=DEFAULT_PROFILE_INTENTS,
                        help="intents in the breakdown and profile passes")
    args = parser.parse_args()

    load_before = os.getloadavg()
    tokens, pools, book, scanner, reference, costs, intents = setup(args.seed, args.intents + WARMUP)
    index = scanner.index
    hops = Counter(len(c.hops) for c in index.cycles)
    timed_run(book, scanner, costs, intents[:WARMUP])  # first quotes build the confirmed states' walks
    # as the scanner module does once its start-up state is loaded: freeze the heap, so a full
    # collection no longer walks it (measured here before and after)
    tracked = len(gc.get_objects())
    full_before = full_collection_us()
    freeze_startup_heap()
    full_after = full_collection_us()
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    run = timed_run(book, scanner, costs, intents[WARMUP:])
    gc.callbacks.remove(pauses)
    load_mid = os.getloadavg()
    ref = timed_run(book, reference, costs, intents[WARMUP:])
    profiled = min(args.profile_intents, args.intents)
    phases = phase_run(book, scanner, costs, intents[WARMUP:WARMUP + profiled])
    steps = evaluate_steps(book, scanner, costs, intents[WARMUP:WARMUP + profiled])
    top = profile_run(book, scanner, costs, intents[WARMUP:WARMUP + profiled])
    load_after = os.getloadavg()
    sdk = json.loads((RESULTS / "pricing.json").read_text()) if (RESULTS / "pricing.json").exists() else None

    # where the slowest 1 % of intents (by phase total) spend their CPU time
    totals = [sum(p[i] for p in phases.values()) for i in range(profiled)]
    slow = sorted(range(profiled), key=lambda i: -totals[i])[:max(1, profiled // 100)]
    cpu_p99 = percentile(run["cpu"], 0.99) / 1000
    summary = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "gc": "enabled, start-up heap frozen (gc.freeze) as in the bot",
                    "gc_full_collection_us": {"tracked_objects_at_start_up": tracked, "before_freeze": full_before,
                                              "after_freeze": full_after},
                    "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                                             "after_timed_run": [round(x, 2) for x in load_mid],
                                                             "after": [round(x, 2) for x in load_after]}},
        "workload": {
            "seed": args.seed, "tokens": len(tokens), "pools": len(pools),
            "pools_v2": sum(p.kind is PoolKind.V2 for p in pools), "pools_v3": sum(p.kind is PoolKind.V3 for p in pools),
            "cycles": len(index.cycles), "cycles_2_hop": hops[2], "cycles_3_hop": hops[3],
            "intents": len(run["wall"]), "warmup_intents": WARMUP, "intents_applied": run["applied"],
            "intents_with_an_opportunity": run["decisions"], "states": "synthetic, in memory",
        },
        "target_p99_us": TARGET_P99_US,
        "scanner": {"latency_us": dist(run["wall"]), "cpu_time_us": dist(run["cpu"]),
                    "all_opportunities_latency_us": dist(run["wall_all"]),
                    "all_opportunities_cpu_time_us": dist(run["cpu_all"]),
                    "exact_passes_before_decision_per_intent": dist(run["exact_before_decision"], 1),
                    "decision_is_first_of_all_opportunities": run["decision_is_best_of_all"],
                    "cycles_per_intent": dist(run["cycles"], 1), "sized_per_intent": dist(run["sized"], 1),
                    "simulations_per_intent": dist(run["sims"], 1),
                    "simulations_per_sized_cycle": round(sum(run["sims"]) / max(1, sum(run["sized"])), 2),
                    "opportunities": sum(len(f) for f in run["found"])},
        "reference_scanner": {"latency_us": dist(ref["wall"]), "cpu_time_us": dist(ref["cpu"]),
                              "simulations_per_intent": dist(ref["sims"], 1),
                              "simulations_per_sized_cycle": round(sum(ref["sims"]) / max(1, sum(ref["sized"])), 2)},
        "versus_reference": compare(run["found"], ref["found"], run["decision"]),
        "p99_meets_target": percentile(run["wall"], 0.99) / 1000 < TARGET_P99_US,
        "all_opportunities_p99_meets_target": percentile(run["wall_all"], 0.99) / 1000 < TARGET_P99_US,
        "cpu_p99_meets_target": cpu_p99 < TARGET_P99_US,
        "phases_cpu_us": {name: dist(v) for name, v in phases.items()},
        "phases_of_the_slowest_1_percent_cpu_us": {
            "intents": len(slow),
            **{name: round(statistics.mean(v[i] for i in slow) / 1000, 1) for name, v in phases.items()},
            "cycles": round(statistics.mean(run["cycles"][i] for i in slow), 1),
            "sized": round(statistics.mean(run["sized"][i] for i in slow), 1),
            "simulations": round(statistics.mean(run["sims"][i] for i in slow), 1)},
        "module_steps_us": {name: dist(v) for name, v in steps.items()},
        "gc_pauses_during_timed_run": pauses.summary(),
        "profile_top_tottime": [{"function": f, "calls": n, "tottime_s": round(t, 4), "cumtime_s": round(c, 4)}
                                for f, n, t, c in top],
        "v3_multi_tick_vs_v3_sdk": None if sdk is None or sdk.get("v3_sdk") is None else {
            "source": "bench/results/pricing.json (bench/pricing.py)",
            "mevbot_multi_tick_swaps_per_s": sdk["python_v3_multi_tick_swaps_per_s"],
            "mevbot_repeated_quote_swaps_per_s": sdk["python_v3_repeated_quote_swaps_per_s"],
            "v3_sdk_multi_tick_swaps_per_s": sdk["v3_sdk"]["multi_tick_swaps_per_s"],
            "ratio_plain_loop": round(sdk["python_v3_multi_tick_swaps_per_s"] / sdk["v3_sdk"]["multi_tick_swaps_per_s"], 1),
            "v3_sdk_version": sdk["v3_sdk"]["version"],
        },
    }
    md = render_markdown(summary, args)
    print(md)
    if (args.intents, args.seed, args.profile_intents) != (DEFAULT_INTENTS, DEFAULT_SEED, DEFAULT_PROFILE_INTENTS):
        print(f"\n(not written to {RESULTS.relative_to(ROOT)}: only the default run is)")
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scanner.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "scanner.md").write_text(md + "\n")
    return 0


def render_markdown(s: dict, args) -> str:
    w, sc, rf, vs = s["workload"], s["scanner"], s["reference_scanner"], s["versus_reference"]
    lat, cpu = sc["latency_us"], sc["cpu_time_us"]
    load = s["machine"]["load_average_1_5_15"]

    def verdict(p99: float) -> str:
        target = s["target_p99_us"]
        return "meets" if p99 < target else f"misses by {p99 - target:,.0f} µs ({p99 / target:.1f}x)"

    def row(label: str, d: dict, unit: str = "") -> str:
        return f"| {label} | {d['p50']:,.1f}{unit} | {d['p90']:,.1f}{unit} | {d['p99']:,.1f}{unit} | {d['max']:,.1f}{unit} |"

    slow = s["phases_of_the_slowest_1_percent_cpu_us"]
    slow_total = sum(slow[k] for k in s["phases_cpu_us"])
    steps = s["module_steps_us"]
    lines = [
        "# Scanner benchmark: swap intent to decision",
        "",
        f"`.venv/bin/python bench/scanner.py --intents {args.intents} --seed {args.seed}` — per intent, "
        f"PoolStateBook.apply_intent, then Scanner.decide over the cycles through the changed pools (the prune, the "
        f"float pre-search and profit bound of every survivor, exact passes best bound first until no other candidate "
        f"can beat the best one: the decision, what the scanner publishes first and risk sees first), then "
        f"Scanner.complete (the other candidates sized exactly: all opportunities, published after it). "
        f"Synthetic in-memory states: {w['pools']} pools ({w['pools_v2']} V2, {w['pools_v3']} V3 with 30+ ranges each), "
        f"{w['tokens']} tokens, {w['cycles']} cycles from WETH ({w['cycles_2_hop']} 2-hop, {w['cycles_3_hop']} 3-hop); "
        f"{w['intents']} intents after {w['warmup_intents']} warm-up; bot default filters; Python {s['machine']['python']}, "
        f"{s['machine']['cpus']} cores shared with other work (load average 1/5/15 min: {load['before']} before, "
        f"{load['after_timed_run']} after the timed run, {load['after']} at the end), GC on.",
        "",
        "| measure | p50 | p90 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
        row("intent → decision, Scanner, wall (µs)", lat),
        row("intent → decision, Scanner, CPU time (µs)", cpu),
        row("intent → all opportunities, Scanner, wall (µs)", sc["all_opportunities_latency_us"]),
        row("intent → all opportunities, Scanner, CPU time (µs)", sc["all_opportunities_cpu_time_us"]),
        row("same intents, ReferenceScanner (old search, all opportunities), wall (µs)", rf["latency_us"]),
        row("same intents, ReferenceScanner, CPU time (µs)", rf["cpu_time_us"]),
        row("cycles through the changed pools per intent", sc["cycles_per_intent"]),
        row("cycles not pruned per intent", sc["sized_per_intent"]),
        row("exact passes before the decision per intent", sc["exact_passes_before_decision_per_intent"]),
        row("whole-cycle exact simulations per intent (all opportunities)", sc["simulations_per_intent"]),
        row("one Scanner.candidate, the module's step before the decision, wall (µs)", steps["candidate_wall"]),
        row("one Scanner.candidate, CPU time (µs)", steps["candidate_cpu"]),
        row("one Scanner.size, the module's step after it, wall (µs)", steps["size_wall"]),
        row("one Scanner.size, CPU time (µs)", steps["size_cpu"]),
        *[row(f"phase: {name.replace('_', ' ')}, CPU (µs)", d) for name, d in s["phases_cpu_us"].items()],
        "",
        f"Target p99 < {s['target_p99_us']:,.0f} µs, intent → decision: wall **{verdict(lat['p99'])}**, CPU time "
        f"**{verdict(cpu['p99'])}**; intent → all opportunities: wall {verdict(sc['all_opportunities_latency_us']['p99'])}, "
        f"CPU time {verdict(sc['all_opportunities_cpu_time_us']['p99'])}. "
        f"{w['intents_with_an_opportunity']} of {w['intents']} intents led to an opportunity; in "
        f"{sc['decision_is_first_of_all_opportunities']} of {w['intents']} the decision is the first of the complete "
        f"list (the most profitable of all, or none for none). "
        f"{sc['simulations_per_sized_cycle']} whole-cycle simulations per cycle not pruned "
        f"(reference: {rf['simulations_per_sized_cycle']} per cycle, every cycle sized).",
        "",
        f"Against the reference on the same intents, complete sets: {vs['same_cycle']:,} opportunities on the same cycles, "
        f"{vs['missing_in_scanner']} reported only by the reference, {vs['extra_in_scanner']} only by the scanner; "
        f"on the common ones the scanner's exact gross profit is higher {vs['scanner_more_profit']:,} times, lower "
        f"{vs['scanner_less_profit']:,} times, at worst by {vs['worst_loss_in_tolerances']} of the tolerance the tests "
        f"allow (two units of each intermediate token, valued at the route's marginal rates, plus 2^-30: the rounding staircase "
        f"neither search resolves), {vs['gross_profit_kept']:.7%} of the reference's total. The decision is on the "
        f"cycle of the reference's best in {vs['decision_same_cycle_as_reference_best']} of "
        f"{vs['intents_with_an_opportunity']} intents (net profit kept: mean {vs['decision_net_profit_kept_mean']:.4%}, "
        f"min {vs['decision_net_profit_kept_min']:.4%}).",
        "",
        f"Where the CPU time of the slowest 1 % ({slow['intents']} intents, {slow['cycles']} cycles, {slow['sized']} not "
        f"pruned, {slow['simulations']} simulations each on average) goes, {slow_total:,.0f} µs in all: "
        + ", ".join(f"{name.replace('_', ' ')} {slow[name]:,.0f} µs ({slow[name] / slow_total:.0%})"
                    for name in s["phases_cpu_us"]) + ".",
        "",
        "Garbage-collector pauses inside the timed run (GC on, as in the bot): "
        + ", ".join(f"generation {g[-1]}: {v['count']} (max {v['max_us']:,.0f} µs)"
                    for g, v in s["gc_pauses_during_timed_run"].items())
        + f". The start-up heap ({s['machine']['gc_full_collection_us']['tracked_objects_at_start_up']:,} tracked "
          f"objects) is frozen after the warm-up, as the scanner module does once its state is loaded "
          f"(runtime.heap.freeze_startup_heap): a full collection took "
          f"{s['machine']['gc_full_collection_us']['before_freeze']:,.0f} µs before, "
          f"{s['machine']['gc_full_collection_us']['after_freeze']:,.0f} µs after.",
        "",
        "Top of the profile (cProfile, tottime, the Scanner's timed path):",
        "",
        "| function | calls | tottime s | cumtime s |",
        "| --- | ---: | ---: | ---: |",
        *[f"| `{r['function']}` | {r['calls']:,} | {r['tottime_s']} | {r['cumtime_s']} |"
          for r in s["profile_top_tottime"][:8]],
    ]
    sdk = s["v3_multi_tick_vs_v3_sdk"]
    if sdk:
        lines += ["", f"V3 multi-tick swap simulation vs @uniswap/v3-sdk {sdk['v3_sdk_version']} (from bench/pricing.py, "
                      f"same pools and swaps, results identical): {sdk['mevbot_multi_tick_swaps_per_s']:,}/s plain loop "
                      f"({sdk['mevbot_repeated_quote_swaps_per_s']:,}/s with the memoised walk) vs "
                      f"{sdk['v3_sdk_multi_tick_swaps_per_s']:,}/s: {sdk['ratio_plain_loop']}x."]
    return "\n".join(lines)


if __name__ == "__main__":
    gc.collect()
    raise SystemExit(main())
