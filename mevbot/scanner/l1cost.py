"""The L1 data cost of an arbitrage, from Arbitrum's NodeInterface where the endpoint offers it.

On Arbitrum a transaction also pays for posting its (compressed) bytes to L1, charged as extra
L2 gas. NodeInterface, a virtual contract the Nitro node serves at ``0x...C8`` (eth_call only),
answers ``gasEstimateComponents(to, contractCreation, data)`` with ``(gasEstimate,
gasEstimateForL1, baseFee, l1BaseFeeEstimate)``; the L1 cost of that call is
``gasEstimateForL1 * baseFee`` wei.

:class:`L1CostEstimator` asks it about one representative executor call (an ``execute`` of the
longest route the scanner searches, see :func:`representative_call`) at most once per new head,
and the scanner prices every cycle with that answer until the next head. The L1 part depends on
the size and compressibility of the transaction, not on what the call does, so the call is
addressed to :data:`ESTIMATE_TO`, an address without code: the node's estimate of the L2 part
then cannot fail (our executor is owner-only, and a route's minProfit check would revert an
estimate of a real execute from any other sender).

An endpoint that does not offer NodeInterface (anvil, any non-Arbitrum node: no code at 0xC8,
so the call returns nothing, or an error) gives the configured estimate instead,
``[scanner] l1_gas_estimate * base fee``; that is logged once, not per head. A transport error
keeps the last answer (one head older) and is logged once too.
"""

from __future__ import annotations

import logging

import attrs
from eth_abi import decode, encode
from eth_utils import keccak

from mevbot.rpc.errors import NodeError, RpcError

NODE_INTERFACE = "0x00000000000000000000000000000000000000c8"
GAS_ESTIMATE_COMPONENTS = keccak(text="gasEstimateComponents(address,bool,bytes)")[:4]
#: A fixed, random-looking 20 bytes (compresses like a real address) with no code on any chain.
ESTIMATE_TO = "0x" + keccak(text="mevbot: L1 cost estimate target")[:20].hex()

log = logging.getLogger("mevbot.scanner")


class L1EstimateUnavailable(Exception):
    """The endpoint answered, but not as NodeInterface would (no code at 0xC8: empty return)."""


@attrs.frozen
class L1Components:
    """NodeInterface's answer for one call at one head."""

    gas_estimate: int
    gas_for_l1: int
    base_fee_wei: int
    l1_base_fee_wei: int

    @property
    def cost_wei(self) -> int:
        return self.gas_for_l1 * self.base_fee_wei


def representative_call(start_token: str, pools: list[str], *, amount_in: int = 10**18,
                        min_profit: int = 10**15) -> bytes:
    """Calldata of an executor ``execute`` through ``pools`` (the size the bot sends for that
    many hops; non-trivial amounts so it compresses like a real one)."""
    from mevbot.execution.contract import EXECUTE_SELECTOR, encode_hop

    hops = [encode_hop(pool, v3=i % 2 == 1, zero_for_one=i % 2 == 0) for i, pool in enumerate(pools)]
    return EXECUTE_SELECTOR + encode(["address", "uint256[]", "uint256", "uint256", "bool"],
                                     [start_token, hops, amount_in, min_profit, True])


def encode_query(call_data: bytes, to: str = ESTIMATE_TO) -> bytes:
    return GAS_ESTIMATE_COMPONENTS + encode(["address", "bool", "bytes"], [to, False, call_data])


def decode_components(raw: bytes) -> L1Components:
    if len(raw) < 128:
        raise L1EstimateUnavailable(f"gasEstimateComponents returned {len(raw)} bytes, expected 128")
    gas, gas_l1, base_fee, l1_base_fee = decode(["uint64", "uint64", "uint256", "uint256"], raw[:128])
    return L1Components(gas, gas_l1, base_fee, l1_base_fee)


class L1CostEstimator:
    """NodeInterface's L1 cost of :attr:`call_data`, refreshed once per head, else config."""

    def __init__(self, call_data: bytes, *, logger: logging.Logger | None = None) -> None:
        self.call_data = call_data
        self.query = encode_query(call_data)
        self.log = logger or log
        self.head: int | None = None  # head of the last refresh
        self.components: L1Components | None = None
        self.queries = 0
        self.failures = 0
        self._said_unavailable = False
        self._said_failed = False

    @property
    def source(self) -> str:
        return "node" if self.components is not None else "config"

    async def refresh(self, rpc, head_number: int) -> None:
        """Ask NodeInterface at ``head_number`` unless already asked at that head."""
        if head_number == self.head:
            return
        self.head = head_number
        self.queries += 1
        try:
            components = decode_components(await rpc.eth_call(NODE_INTERFACE, self.query, head_number))
        except (NodeError, L1EstimateUnavailable) as exc:
            self.components = None
            if not self._said_unavailable:
                self._said_unavailable = True
                self.log.info("scanner: the endpoint does not offer NodeInterface.gasEstimateComponents (%s); "
                              "L1 cost from [scanner] l1_gas_estimate", exc)
            return
        except RpcError as exc:
            self.failures += 1
            if not self._said_failed:
                self._said_failed = True
                self.log.warning("scanner: NodeInterface L1 estimate failed (%s); keeping the last one", exc)
            return
        if self.components is None and self._said_unavailable:
            self.log.info("scanner: NodeInterface answers again; L1 cost from the node")
            self._said_unavailable = False
        self.components = components

    def cost_wei(self, fallback_gas: int, base_fee_wei: int) -> int:
        """The L1 cost of one arbitrage: the node's answer when there is one, else config."""
        if self.components is not None:
            return self.components.cost_wei
        return fallback_gas * base_fee_wei
