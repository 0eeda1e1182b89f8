"""Pool state book: confirmed state from logs, speculative state from intents, reconciliation."""

import attrs

from mevbot.parser.messages import (
    FeedPosition, PoolKind, PoolUpdate, PoolUpdateKind, RouterKind, SwapHop, SwapIntent,
)
from mevbot.pools.state import PoolSnapshot, PoolStateBook
from mevbot.pricing.tick_math import get_sqrt_ratio_at_tick
from mevbot.pricing.v2 import V2PoolState, simulate_v2_swap
from mevbot.pricing.v3_pool import V3PoolState, apply_v3_swap, simulate_v3_swap

A, B, C = "0x" + "0a" * 20, "0x" + "0b" * 20, "0x" + "0c" * 20
P_AB, P_BC, P_V3 = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20


def v2_book() -> PoolStateBook:
    book = PoolStateBook()
    book.set_snapshot(PoolSnapshot(P_AB, V2PoolState(10**21, 2 * 10**21), block_number=10))
    book.set_snapshot(PoolSnapshot(P_BC, V2PoolState(5 * 10**20, 10**21), block_number=10))
    return book


def intent(tx: str, hops, amount_in=None, amount_out=None, exact_input=True, min_out=None) -> SwapIntent:
    return SwapIntent(
        dex="uniswap_v2", router_kind=RouterKind.V2_ROUTER02, router="0x" + "99" * 20,
        method="swapExactTokensForTokens", hops=tuple(hops), token_in=hops[0].token_in,
        token_out=hops[-1].token_out, exact_input=exact_input, amount_in=amount_in,
        amount_out_min=min_out, amount_out=amount_out, amount_in_max=None, recipient="0x" + "77" * 20,
        deadline=None, tx_hash=tx, position=FeedPosition(1, 0),
    )


def hop(pool, tin, tout, kind=PoolKind.V2) -> SwapHop:
    return SwapHop(kind=kind, dex="uniswap_v2", token_in=tin, token_out=tout, fee_pips=None, pool=pool, known=True)


def sync(pool, r0, r1, tx, block=11) -> PoolUpdate:
    return PoolUpdate(kind=PoolUpdateKind.V2_SYNC, pool=pool, block_number=block, log_index=0,
                      tx_hash=tx, reserve0=r0, reserve1=r1)


def test_sync_log_sets_confirmed_reserves_and_block():
    book = v2_book()
    assert book.apply_update(sync(P_AB, 7, 9, "0xaa", block=12))
    snap = book.confirmed(P_AB)
    assert (snap.state.reserve0, snap.state.reserve1, snap.block_number) == (7, 9, 12)


def test_multi_hop_intent_moves_both_pools_like_the_router_would():
    book = v2_book()
    outcome = book.apply_intent(intent("0x01", [hop(P_AB, A, B), hop(P_BC, B, C)], amount_in=10**18))
    assert outcome.applied and set(outcome.changed_pools) == {P_AB, P_BC}
    mid, ab_after = simulate_v2_swap(V2PoolState(10**21, 2 * 10**21), 10**18, True)
    _, bc_after = simulate_v2_swap(V2PoolState(5 * 10**20, 10**21), mid, True)
    assert book.view(P_AB) == ab_after and book.view(P_BC) == bc_after
    # the confirmed layer is untouched until logs arrive
    assert book.confirmed(P_AB).state == V2PoolState(10**21, 2 * 10**21)


def test_matching_log_reconciles_without_mismatch_and_clears_pending():
    book = v2_book()
    book.apply_intent(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18))
    predicted = book.view(P_AB)
    book.apply_update(sync(P_AB, predicted.reserve0, predicted.reserve1, "0x01"))
    assert book.counters.reconciled == 1 and book.counters.mismatches == 0
    assert book.pending_transactions() == []
    assert book.view(P_AB) == predicted


def test_mismatching_log_is_counted_and_the_logged_state_wins():
    book = v2_book()
    book.apply_intent(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18))
    book.apply_update(sync(P_AB, 123, 456, "0x01"))
    assert book.counters.mismatches == 1
    assert book.view(P_AB) == V2PoolState(123, 456)


def test_later_pending_intents_are_replayed_on_the_new_confirmed_state():
    book = v2_book()
    book.apply_intent(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18))
    book.apply_intent(intent("0x02", [hop(P_AB, A, B)], amount_in=2 * 10**18))
    # tx 1 lands with a different outcome than predicted (someone else traded first)
    book.apply_update(sync(P_AB, 2 * 10**21, 2 * 10**21, "0x01"))
    _, expected = simulate_v2_swap(V2PoolState(2 * 10**21, 2 * 10**21), 2 * 10**18, True)
    assert book.pending_transactions() == ["0x02"]
    assert book.view(P_AB) == expected


def test_intent_below_the_users_minimum_is_not_applied():
    book = v2_book()
    outcome = book.apply_intent(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18, min_out=10**30))
    assert not outcome.applied and "minimum" in outcome.reason
    assert book.view(P_AB) == V2PoolState(10**21, 2 * 10**21)


def test_exact_output_intent_works_backwards_through_the_hops():
    book = v2_book()
    want = 10**17
    outcome = book.apply_intent(intent("0x01", [hop(P_AB, A, B), hop(P_BC, B, C)], amount_out=want, exact_input=False))
    assert outcome.applied
    before_bc, after_bc = V2PoolState(5 * 10**20, 10**21), book.view(P_BC)
    assert before_bc.reserve1 - after_bc.reserve1 == want


def test_unknown_pool_intent_is_skipped_with_a_reason():
    book = v2_book()
    unknown = "0x" + "44" * 20
    outcome = book.apply_intent(intent("0x01", [hop(unknown, A, B)], amount_in=1))
    assert not outcome.applied and "no state" in outcome.reason
    assert book.counters.intents_skipped == 1


def v3_state(tick=0, words_known=True) -> V3PoolState:
    spacing = 60
    nets = {-600: 10**20, 600: -10**20}
    # bitmap words for ticks -600 and 600 (compressed -10 and 10 live in word -1 and 0)
    words = {-1: 1 << (256 - 10), 0: 1 << 10} if words_known else {}
    return V3PoolState(
        sqrt_price_x96=get_sqrt_ratio_at_tick(tick), tick=tick, liquidity=10**20, fee_pips=3000,
        tick_spacing=spacing, bitmap_words=words, liquidity_net_by_tick=nets,
        complete_word_range=(-1, 0) if words_known else None,
    )


def test_v3_swap_log_sets_price_tick_and_liquidity():
    book = PoolStateBook()
    book.set_snapshot(PoolSnapshot(P_V3, v3_state(), block_number=5))
    update = PoolUpdate(kind=PoolUpdateKind.V3_SWAP, pool=P_V3, block_number=6, log_index=1, tx_hash="0x05",
                        sqrt_price_x96=get_sqrt_ratio_at_tick(120), liquidity=5, tick=120)
    assert book.apply_update(update)
    state = book.confirmed(P_V3).state
    assert (state.tick, state.liquidity, state.bitmap_words) == (120, 5, v3_state().bitmap_words)


def test_v3_intent_uses_the_exact_simulator():
    book = PoolStateBook()
    book.set_snapshot(PoolSnapshot(P_V3, v3_state(), block_number=5))
    tin, tout = sorted((A, B))
    outcome = book.apply_intent(intent("0x01", [hop(P_V3, tin, tout, PoolKind.V3)], amount_in=10**18))
    assert outcome.applied
    result = simulate_v3_swap(v3_state(), True, 10**18)
    assert book.view(P_V3) == apply_v3_swap(v3_state(), result)


def test_mint_marks_the_pool_stale_and_a_missing_word_is_requested():
    book = PoolStateBook()
    book.set_snapshot(PoolSnapshot(P_V3, v3_state(words_known=False), block_number=5))
    tin, tout = sorted((A, B))
    outcome = book.apply_intent(intent("0x01", [hop(P_V3, tin, tout, PoolKind.V3)], amount_in=10**18))
    assert not outcome.applied and P_V3 in book.needs_data
    mint = PoolUpdate(kind=PoolUpdateKind.V3_MINT, pool=P_V3, block_number=6, log_index=0, tx_hash="0x06",
                      liquidity_delta=10, tick_lower=-60, tick_upper=60)
    assert not book.apply_update(mint)
    assert P_V3 in book.stale
    book.set_snapshot(PoolSnapshot(P_V3, v3_state(), block_number=6))
    assert P_V3 not in book.stale and P_V3 not in book.needs_data


def test_removed_log_marks_the_pool_for_refetch():
    book = v2_book()
    removed = attrs.evolve(sync(P_AB, 1, 2, "0x09"), removed=True)
    assert not book.apply_update(removed)
    assert P_AB in book.stale
    assert book.confirmed(P_AB).state == V2PoolState(10**21, 2 * 10**21)


def test_a_feed_reorg_drops_the_intents_from_its_sequence_number_on_and_keeps_earlier_ones():
    book = v2_book()
    earlier = attrs.evolve(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18), position=FeedPosition(7, 0))
    replaced = attrs.evolve(intent("0x02", [hop(P_AB, A, B), hop(P_BC, B, C)], amount_in=2 * 10**18),
                            position=FeedPosition(8, 3))
    book.apply_intent(earlier)
    book.apply_intent(replaced)
    assert book.drop_pending_since(8) == sorted([P_AB, P_BC])
    assert book.pending_transactions() == ["0x01"]
    _, after_earlier = simulate_v2_swap(V2PoolState(10**21, 2 * 10**21), 10**18, True)
    assert book.view(P_AB) == after_earlier
    assert book.view(P_BC) == V2PoolState(5 * 10**20, 10**21)  # back to confirmed
    assert book.drop_pending_since(9) == []


def at(intent_: SwapIntent, seq: int) -> SwapIntent:
    return attrs.evolve(intent_, position=FeedPosition(seq, 0))


def test_an_intent_whose_block_logs_came_first_is_not_applied_a_second_time():
    book = v2_book()
    book.genesis_block = 100  # feed seq s is block 100 + s
    book.apply_update(sync(P_AB, 9 * 10**20, 2 * 10**21 + 10**20, "0x01", block=111))  # tx 0x01 landed in 111
    outcome = book.apply_intent(at(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18), 11))
    assert not outcome.applied and "already includes block 111" in outcome.reason
    assert book.view(P_AB) == book.confirmed(P_AB).state and book.pending_transactions() == []
    # an intent of an older block than the newest logs is done too (it reverted or touched nothing)
    outcome = book.apply_intent(at(intent("0x02", [hop(P_BC, B, C)], amount_in=10**18), 10))
    assert not outcome.applied and book.counters.intents_confirmed_first == 2
    # one of the next block is pending as before
    assert book.apply_intent(at(intent("0x03", [hop(P_AB, A, B)], amount_in=10**18), 12)).applied


def test_a_pending_intent_left_without_logs_expires_when_a_later_blocks_logs_arrive():
    book = v2_book()
    book.genesis_block = 100
    assert book.apply_intent(at(intent("0x01", [hop(P_AB, A, B)], amount_in=10**18), 12)).applied  # block 112
    assert book.expire_pending_before(112) == []  # block 112's own logs may still come
    assert book.view(P_AB) != book.confirmed(P_AB).state
    assert book.expire_pending_before(113) == [P_AB]  # 112 is complete and 0x01 left no log: it reverted
    assert book.view(P_AB) == book.confirmed(P_AB).state and book.counters.intents_expired == 1
