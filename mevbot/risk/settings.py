"""Settings of the risk manager ([risk])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class RiskSettings:
    enabled: bool = setting(True, doc="Run the risk manager.")
    max_trade_wei: int = setting(10**20, min=0, doc="Largest input of one trade, in wei of its start token.", reloadable=True)
    daily_loss_limit_wei: int = setting(10**17, min=0, doc="Stop trading after this realised loss in a UTC day.", reloadable=True)
    max_consecutive_failures: int = setting(3, min=1, doc="Failed executions in a row that trip the breaker.", reloadable=True)
    breaker_cooldown_s: float = setting(60.0, min=0, doc="Automatic resume after a breaker trip (0 = manual).", reloadable=True)
    max_trade_by_token: dict[str, int] = setting(factory=dict, doc="Per-token cap on one trade's input, raw units, keyed by token address (overrides max_trade_wei for that token).", reloadable=True)
    max_exposure_wei: int = setting(10**21, min=0, doc="Cap on the ETH value of all trades in flight at once.", reloadable=True)
    max_price_impact_bps: int = setting(300, min=0, max=10_000, doc="Largest price impact of any hop, in basis points (the scanner publishes the best opportunity within it first).", reloadable=True)
    max_gas_per_hour_wei: int = setting(10**17, min=0, doc="Cap on the gas spent (L2 + L1) in any rolling hour.", reloadable=True)
    min_profit_wei: int = setting(10**12, min=0, doc="Smallest expected net profit, in wei of ETH.", reloadable=True)
    min_profit_to_cost: float = setting(1.2, min=0, doc="Smallest ratio of gross profit to gas cost.", reloadable=True)
    volatility_window_s: float = setting(10.0, gt=0, doc="Window over which a pool's price move is measured.", reloadable=True)
    max_pool_move_bps: int = setting(2_000, min=1, doc="A pool price move larger than this within the window trips the breaker.", reloadable=True)
    in_flight_timeout_s: float = setting(120.0, gt=0, doc="A trade with no execution result after this long stops counting as in flight.", reloadable=True)
    state_path: str = setting("run/risk-state.json", doc="Where the emergency stop is persisted (survives restarts until clear-stop).")
