"""The scanner module's handlers: a change evaluated as it came, and changes that queued up folded.

Pure V2 pools (no tick data to fetch, so no RPC is asked: ``rpc=None``), on the replay's
sequential bus, through ``ScannerModule._on_change`` / ``_on_changes`` themselves.
"""

from __future__ import annotations

import logging
import types

import attrs

from mevbot.config import Config
from mevbot.execution.engine import ExecutionRequest, ExecutionResult
from mevbot.execution.settings import ExecutionSettings
from mevbot.pools.messages import PoolStateChange, PoolStateEntry
from mevbot.pricing.v2 import V2PoolState
from mevbot.replay.replayer import SequentialBus
from mevbot.risk.settings import RiskSettings
from mevbot.scanner.cycles import build_cycle_index
from mevbot.scanner.engine import CostInputs, ScanFilters, Scanner
from mevbot.scanner.module import ScannerModule
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY
from mevbot.scanner.settings import ScannerSettings

WETH, USDC, DAI = "0x" + "0a" * 20, "0x" + "0b" * 20, "0x" + "0c" * 20
P1, P2, P3, P4 = ("0x" + c * 20 for c in ("11", "22", "33", "44"))
E18 = 10**18
BASE_FEE = 10**8


@attrs.frozen
class Pool:
    address: str
    token0: str
    token1: str


POOLS = [Pool(P1, WETH, USDC), Pool(P2, WETH, USDC), Pool(P3, WETH, DAI), Pool(P4, WETH, DAI)]


def module_and_log(max_price_impact_bps: int = 10_000):
    """The module on SequentialBus; risk's per-hop price-impact limit off unless given."""
    module = ScannerModule()
    module.scanner = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    module.base_fee_wei = BASE_FEE
    bus, published = SequentialBus(), []

    async def collect(opp, trace):
        published.append((trace, opp))

    bus.route(TOPIC_OPPORTUNITY, collect)
    ctx = types.SimpleNamespace(config=ScannerSettings(), full_config=Config(
        risk=RiskSettings(max_price_impact_bps=max_price_impact_bps)),
                                bus=bus, log=logging.getLogger("test.scanner"))
    return module, ctx, published


def change(states: dict, *, seq, cause="intent", block=5) -> PoolStateChange:
    return PoolStateChange(tuple(PoolStateEntry.of(a, s) for a, s in states.items()), block, seq=seq, tx_index=0,
                           trigger_tx=f"0x{seq:064x}" if seq is not None else None, cause=cause)


FLAT = {P1: V2PoolState(1000 * E18, 2_000_000 * E18), P2: V2PoolState(1000 * E18, 2_000_000 * E18),
        P3: V2PoolState(1000 * E18, 2_000_000 * E18), P4: V2PoolState(1000 * E18, 2_000_000 * E18)}


def costs() -> CostInputs:
    settings = ScannerSettings()
    return CostInputs(gas_price_wei=BASE_FEE + ExecutionSettings().priority_fee_wei,
                      l1_cost_wei=settings.l1_gas_estimate * BASE_FEE)


def reference_scan(moved: dict, *, seq: int) -> list:
    """What one full scan of the moved pools on FLAT plus ``moved`` finds, at ``seq``."""
    reference = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    return reference.scan(list(moved), {**FLAT, **moved}.get, costs(), block_number=5, seq=seq, tx_index=0,
                          trigger_tx=f"0x{seq:064x}")


async def test_changes_that_queued_up_are_evaluated_once_on_the_latest_states_at_the_newest_position():
    module, ctx, published = module_and_log()
    await module._on_change(ctx, None, change(FLAT, seq=None, cause="snapshot"), 1)
    assert published == []
    first = change({P1: V2PoolState(1000 * E18, 2_100_000 * E18)}, seq=10)  # P1 moves, then moves further
    second = change({P1: V2PoolState(1000 * E18, 2_200_000 * E18), P3: V2PoolState(1000 * E18, 1_900_000 * E18)},
                    seq=11)
    third = change({P2: V2PoolState(1000 * E18, 2_050_000 * E18)}, seq=12)
    await module._on_changes(ctx, None, [(first, 2), (second, 3), (third, 4)])
    assert module.coalesced == 2
    # exactly what one scan of the union of the moved pools on the final states finds, at seq 12
    final = {**FLAT, P1: second.entries[0].state, P3: second.entries[1].state, P2: third.entries[0].state}
    reference = Scanner(build_cycle_index(POOLS, start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    expected = reference.scan([P1, P3, P2], final.get, costs(), block_number=5, seq=12, tx_index=0,
                              trigger_tx=third.trigger_tx)
    assert len(expected) >= 2  # P1 and P3 cycles both pay
    assert [opp for _, opp in published] == expected
    assert {trace for trace, _ in published} == {4}  # the newest change's trace
    assert {h.pool for _, opp in published for h in opp.route} >= {P1, P3}  # earlier changes' pools too


async def test_the_decision_is_the_best_opportunity_within_risks_price_impact_limit_and_the_rest_follow():
    """A more profitable cycle over risk's per-hop price-impact limit would only be rejected:
    the decision published first is the best one within it, and the same opportunities as a
    full scan's follow, the one over the limit among them, in the scan's order."""
    moved = {P1: V2PoolState(1000 * E18, 2_200_000 * E18), P3: V2PoolState(1000 * E18, 1_900_000 * E18)}
    full = reference_scan(moved, seq=10)
    impact = {opp.cycle_key: max(h.price_impact_bps for h in opp.route) for opp in full}
    limit = min(impact.values())
    assert impact[full[0].cycle_key] > limit  # the most profitable one is over the limit
    eligible = [opp for opp in full if impact[opp.cycle_key] <= limit]
    module, ctx, published = module_and_log(max_price_impact_bps=limit)
    await module._on_change(ctx, None, change(FLAT, seq=None, cause="snapshot"), 1)
    await module._on_change(ctx, None, change(moved, seq=10), 2)
    opps = [opp for _, opp in published]
    assert opps[0] == eligible[0]
    assert opps[1:] == [opp for opp in full if opp != eligible[0]]


async def test_one_change_at_a_time_is_what_the_batch_of_one_gives():
    results = []
    for batched in (False, True):
        module, ctx, published = module_and_log()
        await module._on_change(ctx, None, change(FLAT, seq=None, cause="snapshot"), 1)
        moved = change({P1: V2PoolState(1000 * E18, 2_100_000 * E18)}, seq=10)
        if batched:
            await module._on_changes(ctx, None, [(moved, 2)])
        else:
            await module._on_change(ctx, None, moved, 2)
        assert module.coalesced == 0
        results.append(published)
    assert results[0] == results[1] and results[0]


async def test_a_snapshot_in_a_batch_updates_states_but_moves_nothing():
    module, ctx, published = module_and_log()
    gap = {**FLAT, P1: V2PoolState(1000 * E18, 2_100_000 * E18)}
    await module._on_changes(ctx, None, [(change(FLAT, seq=None, cause="snapshot"), 1),
                                         (change(gap, seq=None, cause="snapshot"), 2)])
    assert published == [] and module.states[P1].state == gap[P1]
    # a later change through P3 only: the P1 gap from the snapshot is not re-evaluated by it
    await module._on_changes(ctx, None, [(change(gap, seq=None, cause="snapshot"), 3),
                                         (change({P3: FLAT[P3]}, seq=20), 4)])
    assert all(P1 not in {h.pool for h in opp.route} for _, opp in published)


async def test_a_cycle_that_walks_past_the_known_ticks_is_retried_on_the_fetched_state(monkeypatch):
    """The scan asks for the missing bitmap word, the module fetches it and evaluates the cycle
    again on the extended state (not on the state it looked up before the fetch)."""
    import math

    from mevbot.pools.state import PoolSnapshot
    from mevbot.pricing.v3_pool import v3_state_from_positions

    price = 2_200 * (1 + 1e-12)  # USDC per WETH on the V3 pool, 10 % above P1's 2,000
    full = v3_state_from_positions(int(math.sqrt(price) * 2**96), 500, 1,
                                   [(-887_272, 887_272, 10**22)] + [(t, t + 50, 10**21) for t in range(70_000, 82_000, 97)])
    word = full.tick >> 8
    known = attrs.evolve(full, bitmap_words={w: v for w, v in full.bitmap_words.items() if w == word},
                         complete_word_range=(word, word))
    module, ctx, published = module_and_log()
    module.scanner = Scanner(build_cycle_index(POOLS[:2], start_tokens=[WETH]), filters=ScanFilters(), weth=WETH)
    await module._on_change(ctx, None, change({P1: FLAT[P1], P2: known}, seq=None, cause="snapshot"), 1)
    fetched = []

    async def fill_missing(rpc, states, missing):
        # Stands in for the RPC read (tested in tests/pools): it installs the full words.
        fetched.append(sorted(missing))
        states[P2.lower()] = PoolSnapshot(P2.lower(), full, 5)

    monkeypatch.setattr("mevbot.pools.fetch.fill_missing", fill_missing)
    await module._on_change(ctx, None, change({P1: V2PoolState(1000 * E18, 2_000_000 * E18 + 1)}, seq=3), 2)
    assert fetched == [[P2.lower()]]
    expected = Scanner(build_cycle_index(POOLS[:2], start_tokens=[WETH]), filters=ScanFilters(), weth=WETH).scan(
        [P1], {P1: V2PoolState(1000 * E18, 2_000_000 * E18 + 1), P2: full}.get, costs(), block_number=5, seq=3,
        tx_index=0, trigger_tx=f"0x{3:064x}")
    assert expected and [opp for _, opp in published] == expected


async def _delivered(*payloads):
    for payload in payloads:
        yield types.SimpleNamespace(payload=payload)


async def test_the_decision_avoids_the_pools_of_a_trade_in_flight_until_its_result_comes():
    """Risk rejects an opportunity through a pool its trade in flight goes through
    (pool_in_flight): while exec.request has opened one and no exec.result has closed it, the
    decision is the best opportunity through other pools; the full scan's others follow."""
    moved = {P1: V2PoolState(1000 * E18, 2_200_000 * E18), P3: V2PoolState(1000 * E18, 1_900_000 * E18)}
    full = reference_scan(moved, seq=10)
    in_flight = full[0]  # an earlier trade through the best cycle's pools
    held = {hop.pool for hop in in_flight.route}
    free = [opp for opp in full if not held & {hop.pool for hop in opp.route}]
    assert free and free[0] != full[0]
    module, ctx, published = module_and_log()
    await module._on_change(ctx, None, change(FLAT, seq=None, cause="snapshot"), 1)
    await module._trades_opened(_delivered(ExecutionRequest("9.0.1", in_flight)))
    await module._on_change(ctx, None, change(moved, seq=10), 2)
    opps = [opp for _, opp in published]
    assert opps[0] == free[0]
    assert opps[1:] == [opp for opp in full if opp != free[0]]

    published.clear()
    await module._trades_ended(_delivered(ExecutionResult("9.0.1", in_flight.cycle_key, "succeeded", "", 0)))
    await module._on_change(ctx, None, change(FLAT, seq=11), 3)
    await module._on_change(ctx, None, change(moved, seq=12), 4)
    assert [opp.cycle_key for _, opp in published if opp.seq == 12] == [opp.cycle_key for opp in full]


async def test_a_request_that_arrives_after_its_result_holds_no_pool():
    module, _, _ = module_and_log()
    opp = attrs.evolve(reference_scan({P1: V2PoolState(1000 * E18, 2_200_000 * E18)}, seq=10)[0], cycle_key="late")
    await module._trades_ended(_delivered(ExecutionResult("3.0.1", "late", "dropped", "simulation reverted", 0)))
    await module._trades_opened(_delivered(ExecutionRequest("3.0.1", opp), ExecutionRequest("3.0.2", opp)))
    assert set(module.trades_in_flight.in_flight) == {"3.0.2"}  # the late one is not held, the next one is
