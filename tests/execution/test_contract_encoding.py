"""The hand-laid execute calldata is eth_abi's, byte for byte."""

from __future__ import annotations

import attrs
from eth_abi import encode
from hypothesis import given
from hypothesis import strategies as st

from mevbot.execution.contract import EXECUTE_SELECTOR, execute_calldata, hops_of
from tests.risk.test_rules import opportunity

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(start=addresses, pools=st.lists(addresses, min_size=2, max_size=5), amount_in=st.integers(1, 2**256 - 1),
       min_profit=st.integers(0, 2**256 - 1), flash=st.booleans(), kinds=st.lists(st.booleans(), min_size=5, max_size=5))
def test_execute_calldata_matches_eth_abi(start, pools, amount_in, min_profit, flash, kinds):
    base = opportunity()
    hop = base.route[0]
    route = tuple(attrs.evolve(hop, pool=pool, kind="v3" if v3 else "v2", fee_pips=500 if v3 else 3000)
                  for pool, v3 in zip(pools, kinds))
    opp = attrs.evolve(base, start_token=start, route=route, amount_in=amount_in)
    expected = EXECUTE_SELECTOR + encode(["address", "uint256[]", "uint256", "uint256", "bool"],
                                         [start, hops_of(opp), amount_in, min_profit, flash])
    assert execute_calldata(opp, min_profit=min_profit, flash=flash) == expected
