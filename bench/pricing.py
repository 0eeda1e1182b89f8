"""Pricing benchmark: V3 multi-tick swap simulations/s and V2 getAmountOut/s, vs @uniswap/v3-sdk.

Run from the repository root: ``.venv/bin/python bench/pricing.py``. It prints a table and
writes ``bench/results/pricing.json`` and ``bench/results/pricing.md``.

Workload: seeded random V3 pools (200 positions around the price, as in
``tests/pricing/pools.py``); each swap is exact input with a price limit 1,500 ticks away, so
it crosses tens of initialised ticks and word edges; half are exact output. The same pools and swaps run through
``@uniswap/v3-sdk``'s ``Pool.swap`` (the SDK's own swap loop, JSBI integers) on node, and the
results are compared field by field, so the benchmark doubles as a cross-check against an
independent implementation. The SDK is not a project dependency: install it outside the repo,
e.g. ``mkdir /tmp/v3sdk-bench && cd /tmp/v3sdk-bench && npm install @uniswap/v3-sdk@3
@uniswap/sdk-core@5 jsbi@3``, and point ``V3SDK_DIR`` there (default ``/tmp/v3sdk-bench``);
without it the peer column is skipped.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import attrs  # noqa: E402

from mevbot.pricing import get_amount_out, simulate_v3_swap  # noqa: E402
from mevbot.pricing.tick_math import get_sqrt_ratio_at_tick  # noqa: E402
from tests.pricing.pools import random_v3_pool  # noqa: E402

RESULTS = ROOT / "bench" / "results"
POOLS = 20
SWAPS_PER_POOL = 10
ROUNDS = 5
TICKS_AWAY = 1500

NODE_SCRIPT = r"""
const fs = require('fs');
const JSBI = require('jsbi');
const { Token } = require('@uniswap/sdk-core');
const { Pool, Tick, TickListDataProvider } = require('@uniswap/v3-sdk');
const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const t0 = new Token(1, '0x0000000000000000000000000000000000000001', 18);
const t1 = new Token(1, '0x0000000000000000000000000000000000000002', 18);
const work = spec.pools.map((p) => {
  const ticks = p.ticks.map(([index, net]) => new Tick({
    index, liquidityNet: JSBI.BigInt(net), liquidityGross: JSBI.BigInt(net.replace('-', '') === '0' ? '1' : net.replace('-', '')),
  }));
  const provider = new TickListDataProvider(ticks, p.tick_spacing);
  const pool = new Pool(t0, t1, p.fee, JSBI.BigInt(p.sqrt_price_x96), JSBI.BigInt(p.liquidity), p.tick, provider);
  const swaps = p.swaps.map(([zeroForOne, amount, limit]) => [zeroForOne, JSBI.BigInt(amount), JSBI.BigInt(limit)]);
  return { pool, swaps };
});
(async () => {
  const results = [];
  for (const { pool, swaps } of work) {
    for (const [z, a, l] of swaps) {
      const r = await pool.swap(z, a, l);
      results.push([r.amountCalculated.toString(), r.sqrtRatioX96.toString(), r.liquidity.toString(), r.tickCurrent]);
    }
  }
  const rounds = [];
  for (let round = 0; round < spec.rounds; round++) {
    const start = process.hrtime.bigint();
    let n = 0;
    for (const { pool, swaps } of work) {
      for (const [z, a, l] of swaps) { await pool.swap(z, a, l); n++; }
    }
    rounds.push(Number(process.hrtime.bigint() - start) / 1e9 / n);
  }
  process.stdout.write(JSON.stringify({ results, rounds }));
})();
"""


def build_workload(seed: int = 2024):
    rng = random.Random(seed)
    work = []
    for _ in range(POOLS):
        state, net = random_v3_pool(rng, tick_spacing=rng.choice([1, 10, 60]), positions=200, spread_ticks=3000)
        swaps = []
        for _ in range(SWAPS_PER_POOL):
            zero_for_one = rng.random() < 0.5
            limit_tick = state.tick - TICKS_AWAY if zero_for_one else state.tick + TICKS_AWAY
            limit = get_sqrt_ratio_at_tick(limit_tick)
            # Alternate exact input (positive) and exact output (negative), as the pool's sign.
            sign = 1 if len(swaps) % 2 == 0 else -1
            swaps.append((zero_for_one, sign * rng.randrange(10**17, 10**26), limit))
        work.append((state, net, swaps))
    return work


def time_python_v3(work, mode: str) -> tuple[list[float], list]:
    """Per-swap seconds for each round.

    ``plain``: the loop from slot0 every time (reuse_walk=False), i.e. a state seen once.
    ``cold``: a fresh state per round, so the first quote builds the memoised walk.
    ``warm``: the scanner's pattern, many quotes on one state: walks already built.
    """
    reuse = mode != "plain"
    results = [simulate_v3_swap(s, z, a, l, reuse_walk=reuse) for s, _, swaps in work for z, a, l in swaps]
    rounds = []
    for _ in range(ROUNDS):
        states = [attrs.evolve(s) if mode == "cold" else s for s, _, _ in work]
        start = time.perf_counter()
        for state, (_, _, swaps) in zip(states, work):
            for zero_for_one, amount, limit in swaps:
                simulate_v3_swap(state, zero_for_one, amount, limit, reuse_walk=reuse)
        rounds.append((time.perf_counter() - start) / (len(work) * SWAPS_PER_POOL))
    return rounds, results


def time_python_single_range(work) -> list[float]:
    """A swap of 1e-5 of the input side's virtual reserve: moves the price within one range."""
    quotes = []
    for state, _, swaps in work:
        for zero_for_one, _, _ in swaps:
            if zero_for_one:
                reserve_in = (state.liquidity << 96) // state.sqrt_price_x96
            else:
                reserve_in = (state.liquidity * state.sqrt_price_x96) >> 96
            quotes.append((state, zero_for_one, max(1, reserve_in // 10**5)))
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for state, zero_for_one, amount in quotes:
            simulate_v3_swap(state, zero_for_one, amount)
        rounds.append((time.perf_counter() - start) / len(quotes))
    return rounds


def time_python_v2() -> list[float]:
    rng = random.Random(7)
    cases = [(rng.randrange(1, 10**24), rng.randrange(10**18, 10**27), rng.randrange(10**18, 10**27)) for _ in range(2000)]
    rounds = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(25):
            for amount_in, reserve_in, reserve_out in cases:
                get_amount_out(amount_in, reserve_in, reserve_out)
        rounds.append((time.perf_counter() - start) / (25 * len(cases)))
    return rounds


def run_v3_sdk(work) -> dict | None:
    sdk_dir = Path(os.environ.get("V3SDK_DIR", "/tmp/v3sdk-bench"))
    if not (sdk_dir / "node_modules" / "@uniswap" / "v3-sdk").is_dir():
        return None
    spec = {
        "rounds": ROUNDS,
        "pools": [
            {
                "sqrt_price_x96": str(state.sqrt_price_x96),
                "tick": state.tick,
                "liquidity": str(state.liquidity),
                "fee": state.fee_pips,
                "tick_spacing": state.tick_spacing,
                "ticks": [[t, str(n)] for t, n in sorted(net.items())],
                "swaps": [[z, str(a), str(l)] for z, a, l in swaps],
            }
            for state, net, swaps in work
        ],
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "spec.json"
        script_path = Path(tmp) / "sdk_bench.js"
        spec_path.write_text(json.dumps(spec))
        script_path.write_text(NODE_SCRIPT)
        env = dict(os.environ, NODE_PATH=str(sdk_dir / "node_modules"))
        out = subprocess.run(
            ["node", str(script_path), str(spec_path)], env=env, capture_output=True, text=True, timeout=600, check=True
        )
    data = json.loads(out.stdout)
    data["version"] = json.loads((sdk_dir / "node_modules/@uniswap/v3-sdk/package.json").read_text())["version"]
    return data


def main() -> int:
    work = build_workload()
    plain_rounds, results = time_python_v3(work, "plain")
    cold_rounds, _ = time_python_v3(work, "cold")
    warm_rounds, warm_results = time_python_v3(work, "warm")
    assert warm_results == results, "memoised walk changed a result"
    steps = [r.steps for r in results]
    crossed = [len(r.ticks_crossed) for r in results]
    single_rounds = time_python_single_range(work)
    v2_rounds = time_python_v2()
    sdk = run_v3_sdk(work)

    v3_best = min(plain_rounds)
    rows = [
        ("mevbot V3 multi-tick swap, plain loop", 1 / v3_best, v3_best * 1e6),
        ("mevbot V3 multi-tick swap, fresh state (builds walk)", 1 / min(cold_rounds), min(cold_rounds) * 1e6),
        ("mevbot V3 multi-tick swap, repeated quotes (walk reused)", 1 / min(warm_rounds), min(warm_rounds) * 1e6),
        ("mevbot V3 single-range swap", 1 / min(single_rounds), min(single_rounds) * 1e6),
        ("mevbot V2 getAmountOut", 1 / min(v2_rounds), min(v2_rounds) * 1e6),
    ]
    mismatches = None
    if sdk is not None:
        sdk_best = min(sdk["rounds"])
        label = f"@uniswap/v3-sdk {sdk['version']} Pool.swap, node {_node_version()}"
        rows.insert(3, (label, 1 / sdk_best, sdk_best * 1e6))
        mismatches = 0
        specified = [a for _, _, swaps in work for _, a, _ in swaps]
        for ours, theirs, amount in zip(results, sdk["results"], specified):
            # The SDK returns the pool's amountCalculated: the side that was not specified.
            calculated = ours.amount1 if ours.zero_for_one == (amount > 0) else ours.amount0
            if [str(calculated), str(ours.sqrt_price_x96), str(ours.liquidity), ours.tick] != theirs:
                mismatches += 1

    summary = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "workload": {
            "pools": POOLS,
            "swaps_per_pool": SWAPS_PER_POOL,
            "limit_ticks_away": TICKS_AWAY,
            "steps_per_swap_median": statistics.median(steps),
            "initialised_ticks_crossed_per_swap_median": statistics.median(crossed),
            "rounds": ROUNDS,
            "figure": "best round",
        },
        "python_v3_multi_tick_swaps_per_s": round(1 / v3_best),
        "python_v3_multi_tick_us_per_swap": round(v3_best * 1e6, 1),
        "python_v3_us_per_step": round(v3_best * 1e6 / statistics.mean(steps), 2),
        "python_v3_fresh_state_us_per_swap": round(min(cold_rounds) * 1e6, 1),
        "python_v3_repeated_quote_us_per_swap": round(min(warm_rounds) * 1e6, 1),
        "python_v3_repeated_quote_swaps_per_s": round(1 / min(warm_rounds)),
        "python_v3_single_range_swaps_per_s": round(1 / min(single_rounds)),
        "python_v2_get_amount_out_per_s": round(1 / min(v2_rounds)),
        "v3_sdk": None
        if sdk is None
        else {
            "version": sdk["version"],
            "node": _node_version(),
            "multi_tick_swaps_per_s": round(1 / min(sdk["rounds"])),
            "multi_tick_us_per_swap": round(min(sdk["rounds"]) * 1e6, 1),
            "results_identical": mismatches == 0,
            "mismatching_swaps": mismatches,
            "swaps_compared": len(results),
        },
    }
    lines = [
        "| implementation | ops/s | µs/op |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {rate:,.0f} | {us:,.1f} |" for name, rate, us in rows],
        "",
        f"Multi-tick swap: median {statistics.median(steps)} loop steps, "
        f"{statistics.median(crossed)} initialised ticks crossed; limit {TICKS_AWAY} ticks away; "
        f"{POOLS} pools x {SWAPS_PER_POOL} swaps, best of {ROUNDS} rounds.",
    ]
    if mismatches is not None:
        lines.append(f"v3-sdk results identical to ours on {len(results) - mismatches}/{len(results)} swaps.")
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pricing.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "pricing.md").write_text("# Pricing benchmark\n\n" + table + "\n")
    return 0 if not mismatches else 1


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unavailable"


if __name__ == "__main__":
    raise SystemExit(main())
