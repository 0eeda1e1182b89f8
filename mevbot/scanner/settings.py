"""Settings of the arbitrage scanner ([scanner])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ScannerSettings:
    enabled: bool = setting(True, doc="Run the arbitrage scanner.")
    max_hops: int = setting(3, choices=(2, 3), doc="Longest cycle searched (2 or 3).")
    min_profit_wei: int = setting(10**12, min=0, doc="Smallest net profit reported, in wei of the start token.", reloadable=True)
    min_profit_to_cost: float = setting(1.2, min=0, doc="Smallest profit-to-cost ratio reported.", reloadable=True)
    l1_gas_estimate: int = setting(2000, min=0, doc="L1 data gas per arbitrage when the node cannot estimate it.", reloadable=True)
    start_tokens: list[str] = setting(factory=list, doc="Tokens cycles start and end in, i.e. profit is measured in ('' = WETH of the manifest).")
    max_evaluations: int = setting(64, min=8, doc="Simulator calls allowed per cycle when sizing a trade with a V3 hop.", reloadable=True)
    shard: str = setting("0/1", pattern=r"^[0-9]+/[1-9][0-9]*$", doc="This instance's share of the cycles, "
                         "'i/n' (0 <= i < n): a scanner evaluates only the cycles whose pool set hashes to "
                         "shard i of n, so n instances with shards 0..n-1 find every opportunity exactly once.")
