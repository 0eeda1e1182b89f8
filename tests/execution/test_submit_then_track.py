"""A sent transaction's receipt is awaited apart from the send, so the next request goes out first.

The execution module submits requests one at a time (simulate, sign, send) and tracks each
receipt in a task of its own; here the engine's two halves are driven the same way on the devnet.
"""

from __future__ import annotations

import pytest

from mevbot.execution.engine import ExecutionRequest, Submitted
from mevbot.rpc.client import RpcClient
from tests.execution.test_engine import engine_executor, fresh_opportunity, make_engine  # noqa: F401 (fixture)
from tests.execution.test_executor_contract import balance_of

pytestmark = pytest.mark.devnet


async def test_two_requests_are_sent_before_either_receipt_is_read_and_both_land(devnet, engine_executor):
    executor, owner = engine_executor
    weth = devnet.manifest["contracts"]["weth9"]
    first_opp = await fresh_opportunity(devnet, "USDT", 20 * 10**18, trader=6)
    second_opp = await fresh_opportunity(devnet, "WBTC", 10 * 10**18, trader=8)
    assert not {h.pool for h in first_opp.route} & {h.pool for h in second_opp.route}  # as risk requires
    before = balance_of(devnet, weth, executor)
    async with RpcClient([devnet.rpc_url]) as rpc:
        engine = make_engine(devnet, rpc, executor, owner)
        first = await engine.submit(ExecutionRequest("s1", first_opp))
        second = await engine.submit(ExecutionRequest("s2", second_opp))
        assert isinstance(first, Submitted) and isinstance(second, Submitted)
        assert second.sent["nonce"] == first.sent["nonce"] + 1
        results = [await engine.track(second), await engine.track(first)]  # any order
    assert [r.status for r in results] == ["succeeded", "succeeded"], [r.reason for r in results]
    assert sum(r.realised_profit for r in results) == balance_of(devnet, weth, executor) - before
    assert {r.request_id for r in results} == {"s1", "s2"}
