"""Live pool state: confirmed from logs, speculative from pending swap intents.

Two layers, both pure (no I/O):

* **confirmed**: each pool's state as of the last block whose logs were applied (V2 ``Sync``
  reserves; V3 ``Swap`` price, tick and liquidity). Each snapshot records the block and feed
  sequence number it is valid at. A V3 ``Mint``/``Burn`` changes ticks whose
  ``liquidityGross`` we do not hold (it decides whether the bitmap flips), so such a pool is
  marked *stale* and the pipeline refetches it from RPC rather than guess.
* **speculative**: intents decoded from the feed, before any receipt, applied in feed order on
  top of the confirmed state. When a transaction's logs arrive, its predicted post-state is
  compared with the logged one (a mismatch is counted), the intent leaves the pending list and
  the speculative view of its pools is rebuilt from the new confirmed state.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from mevbot.parser.messages import PoolKind, PoolUpdate, PoolUpdateKind, SwapIntent
from mevbot.pricing.errors import MissingTickData, PricingError
from mevbot.pricing.v2 import V2PoolState, apply_v2_swap, simulate_v2_swap
from mevbot.pricing.v3_pool import V3PoolState, apply_v3_swap, simulate_v3_swap

PoolState = V2PoolState | V3PoolState


@attrs.frozen
class PoolSnapshot:
    address: str
    state: PoolState
    block_number: int
    seq: int | None = None  # feed sequence number the state is valid at, when known


@attrs.frozen
class IntentOutcome:
    """What applying one intent to the speculative view did."""

    intent: SwapIntent
    applied: bool
    changed_pools: tuple[str, ...] = ()
    reason: str = ""  # why it was not applied


@attrs.define
class StateCounters:
    updates_applied: int = 0
    intents_applied: int = 0
    intents_skipped: int = 0
    reconciled: int = 0
    mismatches: int = 0
    stale_marked: int = 0
    intents_confirmed_first: int = 0  # skipped: their block's logs came first
    intents_expired: int = 0  # pending past their block's logs (reverted or no-op)


class PoolStateBook:
    """Confirmed and speculative state of every tracked pool, keyed by lower-case address."""

    def __init__(self) -> None:
        self._confirmed: dict[str, PoolSnapshot] = {}
        self._speculative: dict[str, PoolState] = {}
        # tx hash -> [(intent, {pool: predicted post-state})], in feed order
        self._pending: dict[str, list[tuple[SwapIntent, dict[str, PoolState]]]] = {}
        self.stale: set[str] = set()
        # pool -> the bitmap word or tick a simulation walked into; the pipeline fetches it
        self.needs_data: dict[str, MissingTickData] = {}
        self.counters = StateCounters()
        #: L2 block number of feed sequence number 0, when known: an intent's block is then
        #: ``genesis_block + seq``, which tells an intent whose block's logs were applied already
        #: (its effect is in the confirmed state, or it reverted) from a pending one.
        self.genesis_block: int | None = None
        self._logged_block = 0  # the newest block whose logs were applied

    # -- confirmed layer -------------------------------------------------------------------

    def set_snapshot(self, snapshot: PoolSnapshot) -> None:
        """Install a state fetched from RPC (start, resync after a gap, stale refetch)."""
        key = snapshot.address.lower()
        self._confirmed[key] = attrs.evolve(snapshot, address=key)
        self.stale.discard(key)
        self.needs_data.pop(key, None)
        self._rebuild({key})

    def confirmed(self, pool: str) -> PoolSnapshot | None:
        return self._confirmed.get(pool.lower())

    def view(self, pool: str) -> PoolState | None:
        """The speculative state of ``pool`` (confirmed state plus pending intents)."""
        key = pool.lower()
        state = self._speculative.get(key)
        if state is not None:
            return state
        snap = self._confirmed.get(key)
        return snap.state if snap else None

    def pools(self) -> list[str]:
        return sorted(self._confirmed)

    def apply_update(self, update: PoolUpdate) -> bool:
        """Apply one log-derived update; True when the pool's state changed."""
        key = update.pool.lower()
        snap = self._confirmed.get(key)
        if snap is None or update.removed:
            if update.removed and snap is not None:
                self._mark_stale(key)  # a reorg removed a log we applied: refetch
            return False
        block = update.block_number if update.block_number is not None else snap.block_number
        state = snap.state
        if update.kind is PoolUpdateKind.V2_SYNC and isinstance(state, V2PoolState):
            new = attrs.evolve(state, reserve0=update.reserve0, reserve1=update.reserve1)
        elif update.kind is PoolUpdateKind.V3_SWAP and isinstance(state, V3PoolState):
            new = attrs.evolve(state, sqrt_price_x96=update.sqrt_price_x96, tick=update.tick,
                               liquidity=update.liquidity)
        elif update.kind is PoolUpdateKind.V3_INITIALIZE and isinstance(state, V3PoolState):
            new = attrs.evolve(state, sqrt_price_x96=update.sqrt_price_x96, tick=update.tick)
        elif update.kind in (PoolUpdateKind.V3_MINT, PoolUpdateKind.V3_BURN):
            self._mark_stale(key)
            return False
        else:
            return False  # V2 Swap carries no reserves; the Sync beside it does
        self._confirmed[key] = PoolSnapshot(key, new, block, snap.seq)
        self._logged_block = max(self._logged_block, block)
        self.counters.updates_applied += 1
        if update.tx_hash:
            self._reconcile(update.tx_hash.lower(), key, new)
        self._rebuild({key})
        return True

    def _mark_stale(self, key: str) -> None:
        if key not in self.stale:
            self.stale.add(key)
            self.counters.stale_marked += 1

    # -- speculative layer -----------------------------------------------------------------

    def intent_block(self, intent: SwapIntent) -> int | None:
        """The L2 block ``intent``'s transaction is sequenced in (None without ``genesis_block``)."""
        return None if self.genesis_block is None else self.genesis_block + intent.position.seq

    def apply_intent(self, intent: SwapIntent) -> IntentOutcome:
        """Apply a pending swap to the speculative view of its pools, in feed order.

        With ``genesis_block`` set, an intent whose block is already in the confirmed state is
        not applied again: the logs of a block often arrive before its feed message, and
        applying the swap a second time would show a price no pool has.
        """
        block = self.intent_block(intent)
        if block is not None:
            reason = self._already_confirmed(intent, block)
            if reason:
                self.counters.intents_skipped += 1
                self.counters.intents_confirmed_first += 1
                return IntentOutcome(intent, False, reason=reason)
        predicted = self._simulate_intent(intent, self.view)
        if isinstance(predicted, str):
            self.counters.intents_skipped += 1
            return IntentOutcome(intent, False, reason=predicted)
        self._pending.setdefault(intent.tx_hash.lower(), []).append((intent, predicted))
        self._speculative.update(predicted)
        self.counters.intents_applied += 1
        return IntentOutcome(intent, True, tuple(sorted(predicted)))

    def _already_confirmed(self, intent: SwapIntent, block: int) -> str:
        if block < self._logged_block:
            return f"block {block}'s logs are all applied (newest logs: block {self._logged_block})"
        snaps = [self._confirmed.get(p.lower()) for p in intent_pools(intent)]
        if snaps and all(s is not None and s.block_number >= block for s in snaps):
            return f"its pools' confirmed state already includes block {block}"
        return ""

    def expire_pending_before(self, block: int) -> list[str]:
        """Forget pending intents sequenced before ``block`` once that block's logs arrive: the
        logs of their blocks are complete, so a transaction that had swapped would have been
        reconciled; what is left reverted or never ran. Returns the pools whose view changed."""
        if self.genesis_block is None:
            return []
        done = [tx for tx, entries in self._pending.items()
                if all(self.genesis_block + intent.position.seq < block for intent, _ in entries)]
        touched = {pool for tx in done for _, predicted in self._pending[tx] for pool in predicted}
        if done:
            self.counters.intents_expired += len(done)
            self.drop_pending(done)
        return sorted(touched)

    def pending_transactions(self) -> list[str]:
        return list(self._pending)

    def drop_pending(self, tx_hashes: Iterable[str]) -> None:
        """Forget intents whose transactions will not land (e.g. after a reorg or timeout)."""
        touched: set[str] = set()
        for tx in tx_hashes:
            for _, predicted in self._pending.pop(tx.lower(), []):
                touched.update(predicted)
        self._rebuild(touched)

    def drop_pending_since(self, seq: int) -> list[str]:
        """Forget the intents of feed messages numbered ``seq`` or later (the sequencer replaced
        them: a feed reorg); returns the pools whose speculative state changed, sorted."""
        replaced = [tx for tx, entries in self._pending.items()
                    if any(intent.position.seq >= seq for intent, _ in entries)]
        touched = {pool for tx in replaced for _, predicted in self._pending[tx] for pool in predicted}
        self.drop_pending(replaced)
        return sorted(touched)

    def _reconcile(self, tx_hash: str, pool: str, logged: PoolState) -> None:
        entries = self._pending.get(tx_hash)
        if not entries:
            return
        for _, predicted in entries:
            if pool in predicted:
                self.counters.reconciled += 1
                if not _same_price_state(predicted[pool], logged):
                    self.counters.mismatches += 1
        # once a tx's log for every pool it touches has arrived, it is no longer pending
        remaining = [(i, {p: s for p, s in pr.items() if p != pool}) for i, pr in entries]
        remaining = [(i, pr) for i, pr in remaining if pr]
        if remaining:
            self._pending[tx_hash] = remaining
        else:
            del self._pending[tx_hash]

    def _rebuild(self, pools: set[str]) -> None:
        """Recompute the speculative view of ``pools`` from confirmed state + pending intents."""
        if not pools:
            return
        for key in pools:
            self._speculative.pop(key, None)
        if not self._pending:
            return
        overlay: dict[str, PoolState] = {}

        def view(p: str) -> PoolState | None:
            k = p.lower()
            if k in overlay:
                return overlay[k]
            snap = self._confirmed.get(k)
            return snap.state if snap else None

        for tx, entries in list(self._pending.items()):
            rebuilt = []
            for intent, predicted in entries:
                if not pools.intersection(intent_pools(intent)):
                    rebuilt.append((intent, predicted))
                    continue
                again = self._simulate_intent(intent, view)
                if isinstance(again, str):
                    continue  # no longer applicable on the new state: it will revert
                overlay.update(again)
                rebuilt.append((intent, {p: s for p, s in again.items() if p in predicted}))
            if rebuilt:
                self._pending[tx] = rebuilt
            else:
                del self._pending[tx]
        for key in pools:
            if key in overlay:
                self._speculative[key] = overlay[key]

    def _simulate_intent(self, intent: SwapIntent, view) -> dict[str, PoolState] | str:
        """Post-swap states of the intent's pools, or the reason it cannot be simulated."""
        if not intent.hops or not intent.all_pools_known:
            return "pool not tracked"
        states: dict[str, PoolState] = {}
        pool = ""

        def current(pool: str) -> PoolState | None:
            return states.get(pool) or view(pool)

        try:
            if intent.exact_input:
                if intent.amount_in is None:
                    return "input amount set by a previous action"
                amount = intent.amount_in
                for hop in intent.hops:
                    pool = hop.pool.lower()
                    state = current(pool)
                    if state is None:
                        return f"no state for pool {pool}"
                    zero_for_one = hop.token_in.lower() < hop.token_out.lower()
                    if isinstance(state, V2PoolState):
                        amount, states[pool] = simulate_v2_swap(state, amount, zero_for_one)
                    else:
                        limit = intent.sqrt_price_limit_x96 if len(intent.hops) == 1 else None
                        result = simulate_v3_swap(state, zero_for_one, amount, limit or None)
                        amount = result.amount_out
                        states[pool] = apply_v3_swap(state, result)
                if intent.amount_out_min is not None and amount < intent.amount_out_min:
                    return "output below the user's minimum: the swap reverts"
            else:
                if intent.amount_out is None:
                    return "exact output without an amount"
                amount = intent.amount_out
                for hop in reversed(intent.hops):
                    pool = hop.pool.lower()
                    state = current(pool)
                    if state is None:
                        return f"no state for pool {pool}"
                    zero_for_one = hop.token_in.lower() < hop.token_out.lower()
                    if isinstance(state, V2PoolState):
                        needed = state.amount_in(amount, zero_for_one)
                        states[pool] = apply_v2_swap(state, needed, amount, zero_for_one)
                        amount = needed
                    else:
                        limit = intent.sqrt_price_limit_x96 if len(intent.hops) == 1 else None
                        result = simulate_v3_swap(state, zero_for_one, -amount, limit or None)
                        states[pool] = apply_v3_swap(state, result)
                        amount = result.amount_in
                if intent.amount_in_max is not None and amount > intent.amount_in_max:
                    return "input above the user's maximum: the swap reverts"
        except MissingTickData as exc:
            self.needs_data[pool] = exc
            return f"pool {pool} needs more tick data: {exc}"
        except PricingError as exc:  # the swap would revert
            return f"simulation failed: {exc}"
        return states


def intent_pools(intent: SwapIntent) -> set[str]:
    return {hop.pool.lower() for hop in intent.hops if hop.pool}


def _same_price_state(a: PoolState, b: PoolState) -> bool:
    if isinstance(a, V2PoolState) and isinstance(b, V2PoolState):
        return (a.reserve0, a.reserve1) == (b.reserve0, b.reserve1)
    if isinstance(a, V3PoolState) and isinstance(b, V3PoolState):
        return (a.sqrt_price_x96, a.tick, a.liquidity) == (b.sqrt_price_x96, b.tick, b.liquidity)
    return False


__all__ = ["PoolKind", "PoolSnapshot", "PoolState", "PoolStateBook", "IntentOutcome", "intent_pools"]
