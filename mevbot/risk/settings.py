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
