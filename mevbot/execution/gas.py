"""The gas limit of an executor transaction, from its simulation instead of eth_estimateGas.

The executor's ``execute`` returns, beside the profit, the gas it spent between its first
statement and its last (``gasleft()`` at entry minus at exit), so the one ``eth_call`` that
checks the trade also measures it. The transaction needs that plus what the window leaves out:

* the intrinsic cost: 21000, plus 16 gas per non-zero and 4 per zero calldata byte (EIP-2028);
  where EIP-7623 applies, the whole transaction costs at least 21000 + 10 gas per calldata
  token, which for a swap route never binds but is taken when it would;
* :data:`CALL_OVERHEAD_GAS`: dispatch, the owner check and argument decoding before the window,
  the return after it (a few hundred gas; bounded generously);
* EIP-150's 1/64: a call can forward only 63/64 of the gas left, so each nesting level (the
  flash swap runs the route inside the first pool's callback: executor → pool → executor →
  pool ...) needs 1/63 more at its call site than its callee spends; :func:`gas_limit` adds
  1/63 per hop of the route, which covers a route's deepest nesting;
* :data:`BLOCK_FIRST_GAS_PER_HOP`: a block's first swap on a V2 pair updates its two price
  accumulators, and on a V3 pool writes an oracle observation; a simulation run in a block that
  already had a swap there does not pay that (~5k gas a slot), the transaction, landing in a
  later block, does;
* on Arbitrum, the L1 data cost, charged as extra L2 gas: the scanner's ``l1_cost_wei`` at the
  base fee the transaction is priced with;

then the configured margin (``[execution] gas_margin_pct``) on all of it, for what other
transactions change between the simulation and the block (a pool's ticks crossed, a balance
slot emptied or filled). tests/execution/test_gas.py checks the limit against
eth_estimateGas's binary search on real routes, and sends with it.
"""

from __future__ import annotations

TX_BASE_GAS = 21_000
CALL_OVERHEAD_GAS = 2_000
BLOCK_FIRST_GAS_PER_HOP = 12_000


def calldata_gas(data: bytes) -> tuple[int, int]:
    """(EIP-2028 intrinsic calldata gas, EIP-7623 floor data gas) of ``data``."""
    zeros = data.count(0)
    nonzero = len(data) - zeros
    return 16 * nonzero + 4 * zeros, 10 * (zeros + 4 * nonzero)


def gas_limit(*, measured_gas: int, calldata: bytes, hops: int, l1_gas: int, margin_pct: int) -> int:
    """The gas limit for an ``execute`` whose simulation spent ``measured_gas`` in its window."""
    execution = measured_gas + CALL_OVERHEAD_GAS + BLOCK_FIRST_GAS_PER_HOP * hops
    execution += -(-execution * hops // 63)  # 1/63 per nesting level, rounded up
    standard, floor = calldata_gas(calldata)
    needed = max(TX_BASE_GAS + standard + execution, TX_BASE_GAS + floor) + l1_gas
    return needed * (100 + margin_pct) // 100


def l1_gas_of(l1_cost_wei: int, base_fee_wei: int) -> int:
    """The L1 data cost expressed in L2 gas at ``base_fee_wei`` (rounded up); 0 without a base fee."""
    if base_fee_wei <= 0 or l1_cost_wei <= 0:
        return 0
    return -(-l1_cost_wei // base_fee_wei)
