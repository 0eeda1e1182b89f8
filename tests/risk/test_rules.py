"""Every rule rejects what it should, names itself, and approves what passes."""

import attrs
import pytest

from mevbot.risk.rules import RiskBook, judge
from mevbot.risk.settings import RiskSettings
from mevbot.scanner.opportunity import ArbitrageOpportunity, RouteHop

WETH, USDC = "0x" + "0a" * 20, "0x" + "0b" * 20
NOW = 1_800_000_000.0


def opportunity(**changes) -> ArbitrageOpportunity:
    hop = RouteHop("0x" + "11" * 20, "uniswap_v2", "v2", WETH, USDC, 3000, 10**18, 2 * 10**21, price_impact_bps=50)
    base = ArbitrageOpportunity(
        cycle_key="k", start_token=WETH, route=(hop, attrs.evolve(hop, token_in=USDC, token_out=WETH)),
        amount_in=10**18, amount_out=11 * 10**17, gross_profit=10**17, gas_units=200_000, gas_price_wei=10**8,
        l2_cost_wei=2 * 10**13, l1_cost_wei=0, cost_in_start_token=2 * 10**13, net_profit=10**17 - 2 * 10**13,
        net_profit_wei=10**17 - 2 * 10**13, block_number=1, seq=9, tx_index=2, trigger_tx=None, evaluations=3,
    )
    return attrs.evolve(base, **changes)


def test_a_healthy_opportunity_is_approved():
    decision = judge(opportunity(), RiskSettings(), RiskBook(), now=NOW)
    assert decision.approved and decision.rule is None
    assert (decision.seq, decision.tx_index) == (9, 2)


@pytest.mark.parametrize("settings, opp, rule", [
    (RiskSettings(max_trade_wei=10**17), opportunity(), "max_trade"),
    (RiskSettings(max_trade_by_token={WETH.upper().replace("0X", "0x"): 10**17}), opportunity(), "max_trade"),
    (RiskSettings(max_exposure_wei=10**17), opportunity(), "max_exposure"),
    (RiskSettings(max_price_impact_bps=49), opportunity(), "max_price_impact"),
    (RiskSettings(max_gas_per_hour_wei=10**13), opportunity(), "max_gas_per_hour"),
    (RiskSettings(min_profit_wei=10**18), opportunity(), "min_profit"),
    (RiskSettings(min_profit_to_cost=10**5), opportunity(), "min_profit_to_cost"),
])
def test_each_rule_rejects_and_names_itself(settings, opp, rule):
    decision = judge(opp, settings, RiskBook(), now=NOW)
    assert not decision.approved and decision.rule == rule and decision.reason


def test_a_per_token_cap_overrides_the_default_only_for_that_token():
    settings = RiskSettings(max_trade_wei=10**17, max_trade_by_token={WETH: 10**19})
    assert judge(opportunity(), settings, RiskBook(), now=NOW).approved


def test_trades_in_flight_count_against_the_exposure_limit_until_closed():
    book = RiskBook()
    settings = RiskSettings(max_exposure_wei=15 * 10**17)
    book.open_trade("r1", opportunity())
    elsewhere = attrs.evolve(opportunity(), route=tuple(attrs.evolve(h, pool="0x" + "99" * 20)
                                                         for h in opportunity().route))
    assert judge(elsewhere, settings, book, now=NOW).rule == "max_exposure"
    book.close_trade("r1", profit_wei=0, gas_wei=0, now=NOW)
    assert judge(opportunity(), settings, book, now=NOW).approved


def test_an_opportunity_through_a_pool_with_a_trade_in_flight_waits_for_its_result():
    book = RiskBook()
    book.open_trade("r1", opportunity())
    other_cycle = opportunity(cycle_key="k2")
    decision = judge(other_cycle, RiskSettings(), book, now=NOW)
    assert decision.rule == "pool_in_flight" and "0x" + "11" * 20 in decision.reason
    book.close_trade("r1", profit_wei=1, gas_wei=0, now=NOW)
    assert judge(other_cycle, RiskSettings(), book, now=NOW).approved


def test_a_trade_whose_result_never_comes_stops_blocking_its_pools_after_the_timeout():
    book = RiskBook()
    book.open_trade("r1", opportunity(), now=NOW)
    assert book.expire(NOW + 119, max_age_s=120) == []
    assert judge(opportunity(cycle_key="k2"), RiskSettings(), book, now=NOW + 119).rule == "pool_in_flight"
    assert book.expire(NOW + 121, max_age_s=120) == ["r1"]
    assert judge(opportunity(cycle_key="k2"), RiskSettings(), book, now=NOW + 121).approved


def test_daily_loss_limit_halts_for_the_rest_of_the_utc_day_only():
    book = RiskBook()
    settings = RiskSettings(daily_loss_limit_wei=10**16)
    book.close_trade("r1", profit_wei=-10**16, gas_wei=0, now=NOW)
    assert judge(opportunity(), settings, book, now=NOW + 60).rule == "daily_loss"
    next_day = (NOW // 86400 + 1) * 86400
    assert judge(opportunity(), settings, book, now=next_day).approved


def test_gas_budget_is_a_rolling_hour():
    book = RiskBook()
    settings = RiskSettings(max_gas_per_hour_wei=10**14)
    book.close_trade("r1", profit_wei=10**15, gas_wei=9 * 10**13, now=NOW)
    assert judge(opportunity(), settings, book, now=NOW + 10).rule == "max_gas_per_hour"
    assert judge(opportunity(), settings, book, now=NOW + 3601).approved


def test_a_halt_reason_rejects_before_any_other_rule():
    decision = judge(opportunity(), RiskSettings(max_trade_wei=0), RiskBook(), now=NOW, halted="emergency stop")
    assert decision.rule == "halted" and decision.reason == "emergency stop"
