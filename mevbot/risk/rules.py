"""The risk manager's rules: every execution request is judged here before it can be sent.

Pure: :class:`RiskBook` holds what the rules need to remember (trades in flight, realised
PnL per UTC day, gas spent per rolling hour) and :func:`judge` applies the rules in a fixed order,
so the first rule that fails is the one reported, the same way on every run. Times are passed in
(seconds since the epoch) rather than read from a clock, which keeps replays deterministic.
"""

from __future__ import annotations

from collections import deque

import attrs

from mevbot.risk.settings import RiskSettings
from mevbot.scanner.opportunity import ArbitrageOpportunity

TOPIC_DECISION = "risk.decision"


@attrs.frozen
class RiskDecision:
    """The verdict on one opportunity; every decision is published and stored for audit."""

    cycle_key: str
    approved: bool
    rule: str | None  # the rule that rejected it, e.g. "max_trade"; None when approved
    reason: str
    seq: int | None
    tx_index: int | None
    decided_at: float


@attrs.define
class InFlight:
    cycle_key: str
    exposure_wei: int
    pools: frozenset[str] = frozenset()
    opened_at: float = 0.0


@attrs.define
class RiskBook:
    """What the rules remember between decisions."""

    in_flight: dict[str, InFlight] = attrs.field(factory=dict)  # request id -> trade
    pnl_by_day: dict[int, int] = attrs.field(factory=dict)  # UTC day number -> realised wei
    gas_spent: deque[tuple[float, int]] = attrs.field(factory=deque)  # (time, wei)

    def exposure_wei(self) -> int:
        return sum(t.exposure_wei for t in self.in_flight.values())

    def gas_in_last_hour(self, now: float) -> int:
        while self.gas_spent and self.gas_spent[0][0] <= now - 3600:
            self.gas_spent.popleft()
        return sum(wei for _, wei in self.gas_spent)

    def realised_today(self, now: float) -> int:
        return self.pnl_by_day.get(int(now // 86400), 0)

    def open_trade(self, request_id: str, opp: ArbitrageOpportunity, *, now: float = 0.0) -> None:
        self.in_flight[request_id] = InFlight(opp.cycle_key, exposure_of(opp), pools_of(opp), now)

    def expire(self, now: float, max_age_s: float) -> list[str]:
        """Forget trades whose result never came (a crashed executor must not block pools forever)."""
        old = [rid for rid, t in self.in_flight.items() if now - t.opened_at > max_age_s]
        for rid in old:
            del self.in_flight[rid]
        return old

    def busy_pools(self) -> frozenset[str]:
        return frozenset().union(*(t.pools for t in self.in_flight.values()))

    def forget(self, request_id: str) -> None:
        """A trade that ended with nothing to book (dropped before sending, or a dry run)."""
        self.in_flight.pop(request_id, None)

    def close_trade(self, request_id: str, *, profit_wei: int, gas_wei: int, now: float) -> None:
        """Record an execution's outcome: realised profit (negative for a loss) and its gas."""
        self.in_flight.pop(request_id, None)
        day = int(now // 86400)
        self.pnl_by_day[day] = self.pnl_by_day.get(day, 0) + profit_wei - gas_wei
        self.gas_spent.append((now, gas_wei))


def pools_of(opp: ArbitrageOpportunity) -> frozenset[str]:
    return frozenset(hop.pool.lower() for hop in opp.route)


def exposure_of(opp: ArbitrageOpportunity) -> int:
    """ETH value put at risk by a trade: its input, priced like its gas (1:1 for WETH)."""
    if opp.cost_in_start_token and opp.cost_wei:
        return opp.amount_in * opp.cost_wei // opp.cost_in_start_token
    return opp.amount_in


def judge(opp: ArbitrageOpportunity, settings: RiskSettings, book: RiskBook, *, now: float,
          halted: str | None = None) -> RiskDecision:
    """Apply every rule in order; ``halted`` is the emergency-stop or breaker reason, if any."""

    def reject(rule: str, reason: str) -> RiskDecision:
        return RiskDecision(opp.cycle_key, False, rule, reason, opp.seq, opp.tx_index, now)

    if halted:
        return reject("halted", halted)
    busy = pools_of(opp) & book.busy_pools()
    if busy:
        # the trade in flight through these pools changes their price: this one is stale already
        return reject("pool_in_flight", f"pool {min(busy)} has a trade in flight")
    caps = {token.lower(): value for token, value in settings.max_trade_by_token.items()}
    cap = caps.get(opp.start_token.lower(), settings.max_trade_wei)
    if opp.amount_in > cap:
        return reject("max_trade", f"input {opp.amount_in} of {opp.start_token} exceeds the cap {cap}")
    exposure = exposure_of(opp)
    if book.exposure_wei() + exposure > settings.max_exposure_wei:
        return reject("max_exposure", f"in-flight exposure {book.exposure_wei()} + {exposure} wei exceeds "
                                      f"{settings.max_exposure_wei}")
    for i, hop in enumerate(opp.route):
        if hop.price_impact_bps > settings.max_price_impact_bps:
            return reject("max_price_impact", f"hop {i} on {hop.pool} moves the price {hop.price_impact_bps} bps; "
                                              f"limit {settings.max_price_impact_bps}")
    today = book.realised_today(now)
    if today <= -settings.daily_loss_limit_wei:
        return reject("daily_loss", f"realised {today} wei today; limit -{settings.daily_loss_limit_wei}")
    spent = book.gas_in_last_hour(now)
    if spent + opp.cost_wei > settings.max_gas_per_hour_wei:
        return reject("max_gas_per_hour", f"gas {spent} wei in the last hour + {opp.cost_wei} exceeds "
                                          f"{settings.max_gas_per_hour_wei}")
    if opp.net_profit_wei < settings.min_profit_wei:
        return reject("min_profit", f"net profit {opp.net_profit_wei} wei below {settings.min_profit_wei}")
    if opp.cost_in_start_token and opp.gross_profit < settings.min_profit_to_cost * opp.cost_in_start_token:
        return reject("min_profit_to_cost", f"gross profit {opp.gross_profit} is below {settings.min_profit_to_cost}x "
                                            f"its cost {opp.cost_in_start_token}")
    return RiskDecision(opp.cycle_key, True, None, "approved", opp.seq, opp.tx_index, now)
