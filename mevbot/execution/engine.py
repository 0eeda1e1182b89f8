"""The execution engine: from an approved opportunity to a landed (or dropped) transaction.

For each request: build the executor calldata; simulate it with ``eth_call`` at the latest
state (and, where ``[execution] simulate_pending``, in the same batch at ``pending``:
:func:`simulation_blocks`) and drop it, with the
reason, if it reverts or its profit fell below the floor; set the gas
limit from the gas the simulation measured, with a margin (the executor returns it beside the
profit, :mod:`mevbot.execution.gas`, so the wait before signing is that one round trip); set
EIP-1559 fees from the newest head's base fee (kept up to date from ``chain.head``, not read per
request) and the configured priority fee; sign; send the same raw transaction to every sequencer
endpoint at once; track the receipt and read the realised profit from the executor's
``Executed`` event.

Sending is careful about "may have landed": a send that failed in transport (timeout, endpoint
down) is never simply repeated. The engine first asks the node whether it knows the transaction
by hash, and re-sends the identical raw bytes (same nonce, same hash) only if it does not. A dry
run simulates and never signs or sends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import attrs
import trio
from eth_abi import decode
from eth_utils import to_checksum_address

from mevbot.execution.contract import describe_executor_error, execute_calldata, executed_events
from mevbot.execution.gas import gas_limit, l1_gas_of
from mevbot.execution.keys import TradingKey
from mevbot.execution.nonces import NonceManager, nonce_error_kind
from mevbot.execution.settings import ExecutionSettings
from mevbot.rpc.chaindata import read_data, to_data, tx_object
from mevbot.rpc.errors import NodeError, RpcError
from mevbot.scanner.opportunity import ArbitrageOpportunity

TOPIC_REQUEST = "exec.request"
TOPIC_RESULT = "exec.result"

log = logging.getLogger("mevbot.execution")


@attrs.frozen
class ExecutionRequest:
    """What the risk manager sends to execution (a critical, persisted topic)."""

    request_id: str
    opportunity: ArbitrageOpportunity


@attrs.frozen
class ExecutionResult:
    """The outcome of one request (a critical, persisted topic).

    ``status``: ``succeeded`` | ``reverted`` (landed, reverted) | ``dropped`` (not sent: the
    simulation failed or the profit fell) | ``failed`` (not landed: refused, no receipt in time)
    | ``dry_run`` (simulated only).
    """

    request_id: str
    cycle_key: str
    status: str
    reason: str
    expected_profit: int
    simulated_profit: int | None = None
    realised_profit: int | None = None
    tx_hash: str | None = None
    nonce: int | None = None
    gas_limit: int | None = None
    gas_used: int | None = None
    gas_cost_wei: int | None = None
    block_number: int | None = None
    calldata: str = ""
    seq: int | None = None
    tx_index: int | None = None
    signed_ns: int | None = None  # time.time_ns() when the transaction was signed, right before sending
    sent_ns: int | None = None  # time.time_ns() when the first endpoint accepted it

    @property
    def landed(self) -> bool:
        return self.status in ("succeeded", "reverted")


def revert_reason(error: NodeError) -> str:
    """A readable reason from a revert: ``Error(string)`` text, or the custom error selector."""
    data = error.data if isinstance(error.data, str) else ""
    if data.startswith("0x") and len(data) >= 10:
        try:
            described = describe_executor_error(bytes.fromhex(data[2:]))
        except ValueError:
            described = None
        if described:
            return described
    if data.startswith("0x08c379a0") and len(data) >= 10 + 128:
        try:
            (text,) = decode(["string"], bytes.fromhex(data[10:]))
            return text
        except Exception:
            pass
    if data.startswith("0x") and len(data) >= 10:
        return f"{error.message} (error selector {data[:10]})"
    return error.message


def min_profit_of(opp: ArbitrageOpportunity, settings: ExecutionSettings) -> int:
    """The ``minProfit`` the contract is told to enforce: a share of the expected gross profit."""
    return opp.gross_profit * settings.min_profit_share_pct // 100


def simulation_blocks(settings: ExecutionSettings) -> tuple[str, ...]:
    """Where a request is simulated, in one JSON-RPC batch (one round trip): the latest block's
    state and, with ``simulate_pending``, "pending", the state after the transactions the node
    already holds, which is where ours will run on a node with a mempool (the devnet: anvil
    mines them first-in first-out, so a noise trade sent just before ours turns a latest-state
    simulation's profit into an on-chain revert; before the gas came from the simulation,
    eth_estimateGas, which anvil runs at pending, caught that). Arbitrum's sequencer holds no
    pending transactions: there the second call answers what the first did, and costs the
    node's work and the wait for it (on the devnet the batch took 2.65 ms p50 with both, 1.95
    with latest only) and a billed call at a provider, so it is off by default."""
    return ("latest", "pending") if settings.simulate_pending else ("latest",)


def decode_execute_result(raw: bytes) -> tuple[int, int]:
    """``(profit, gasUsed)`` from what ``execute`` returned; a clear error for an executor built
    before it measured its gas (one word only: it must be redeployed)."""
    if len(raw) == 32:
        raise ValueError("the executor returned its profit only, not (profit, gasUsed): it predates the "
                         "gas-measuring build; redeploy it (`mevbot contract deploy`, or a fresh devnet)")
    try:
        profit, gas_used = decode(["uint256", "uint256"], raw)
    except Exception as exc:
        raise ValueError(f"unexpected return from execute ({len(raw)} bytes): {exc}") from None
    return profit, gas_used


def build_transaction(calldata: bytes, settings: ExecutionSettings, *, executor: str, chain_id: int,
                      gas_limit: int, base_fee_wei: int, nonce: int | None = None) -> dict[str, Any]:
    """The EIP-1559 transaction to the executor, unsigned (the engine and `mevbot replay` build it here)."""
    tx = {"chainId": chain_id, "to": executor, "data": calldata, "value": 0, "gas": gas_limit,
          "maxPriorityFeePerGas": settings.priority_fee_wei,
          "maxFeePerGas": base_fee_wei * settings.max_fee_multiplier + settings.priority_fee_wei, "type": 2}
    if nonce is not None:
        tx["nonce"] = nonce
    return tx


@attrs.frozen
class Submitted:
    """A transaction sent for a request, its receipt not yet read."""

    tx_hash: str
    sent: dict


#: The early signature's gas is the most the cycle's simulations measured plus this share: the
#: same cycle spends a few percent more when its swaps cross another tick or take another path
#: through a pool's code, and a limit above the gas used costs nothing (gas used is charged).
EARLY_GAS_SLACK_PCT = 10
#: A cycle's first trade has no measured gas: its early signature takes the scanner's gas model
#: (``ArbitrageOpportunity.gas_units``, its whole trade's L2 gas, which :func:`gas_limit` then
#: pads with the transaction's overheads again) plus this share. Before, a first trade was
#: signed after its simulation (56 of 95 sent trades in a 40 s devnet run, traced ad hoc; each
#: ~1 ms); bench/e2e.py reports how many are sent as signed early.
FIRST_GAS_SLACK_PCT = 50


def early_gas_guess(seen: int | None, model_gas: int) -> int | None:
    """The measured gas the early signature assumes: the most this cycle's simulations measured,
    else the scanner's model for the trade; None (sign after the simulation) without either."""
    if seen is not None:
        return seen * (100 + EARLY_GAS_SLACK_PCT) // 100
    if model_gas > 0:
        return model_gas * (100 + FIRST_GAS_SLACK_PCT) // 100
    return None


class _Failed:
    """A simulation that could not be put on the wire: awaiting it raises why."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    async def answers(self) -> list:
        raise self._error


class ExecutionEngine:
    def __init__(self, *, rpc: Any, senders: list[Any], key: TradingKey | None, executor: str,
                 settings: ExecutionSettings, chain_id: int, nonces: NonceManager | None = None) -> None:
        self.rpc = rpc
        self.senders = senders or [rpc]
        #: The most gas each cycle's simulations measured: with :data:`EARLY_GAS_SLACK_PCT` on top,
        #: the gas of the transaction signed while that cycle's next simulation is in flight.
        self.measured_gas: dict[str, int] = {}
        self.presigned_used = 0
        self.presigned_discarded = 0
        self.key = key
        # checksummed, as eth-account requires of a transaction's `to` (the fast signer agrees)
        self.executor = to_checksum_address(executor) if executor else executor
        self.settings = settings
        self.chain_id = chain_id
        self.nonces = nonces
        #: The base fee of the newest head seen (:meth:`observe_head`); read once from the node if
        #: no head came yet, never per request.
        self.base_fee_wei: int | None = None
        self.base_fee_block: int | None = None
        if key is not None and nonces is None:
            self.nonces = NonceManager(lambda: rpc.get_transaction_count(key.address, "pending"))

    def observe_head(self, number: int, base_fee_wei: int | None) -> None:
        """Take a new head's base fee (the execution module feeds it ``chain.head``); an older head
        than the one held is ignored."""
        if base_fee_wei is None or (self.base_fee_block is not None and number < self.base_fee_block):
            return
        self.base_fee_block, self.base_fee_wei = number, base_fee_wei

    async def refresh_base_fee(self) -> int:
        """Read the latest head's base fee from the node (at start, or when no head came yet)."""
        head = await self.rpc.get_block("latest")
        base_fee = int(head.get("baseFeePerGas", "0x0"), 16) if head else 0
        number = int(head["number"], 16) if head and head.get("number") else None
        if number is None or self.base_fee_block is None or number >= self.base_fee_block:
            self.base_fee_block, self.base_fee_wei = number, base_fee
        return self.base_fee_wei

    async def prepare(self) -> None:
        """What the first live request would otherwise wait for: the base fee and the nonce."""
        if self.key is None or self.settings.dry_run:
            return
        if self.base_fee_wei is None:
            await self.refresh_base_fee()
        if self.nonces is not None and self.nonces.next_nonce is None:
            await self.nonces.sync()

    async def execute(self, request: ExecutionRequest, *, halted: Callable[[], str | None] | None = None
                      ) -> ExecutionResult:
        """Run one request to its result; ``halted()`` is asked right before signing (emergency stop)."""
        outcome = await self.submit(request, halted=halted)
        if isinstance(outcome, Submitted):
            return await self.track(outcome)
        return outcome

    async def track(self, submitted: Submitted) -> ExecutionResult:
        """Wait for a sent transaction's receipt (or the timeout) and read its result."""
        return await self._track(submitted.tx_hash, submitted.sent)

    async def submit(self, request: ExecutionRequest, *, halted: Callable[[], str | None] | None = None
                     ) -> ExecutionResult | Submitted:
        """Simulate, sign and send one request: its final result when it ends before or at the
        send (dropped, dry run, refused), else :class:`Submitted`, to :meth:`track`. Split from
        the tracking so that the next request need not wait for this one's receipt.

        One round trip before sending: the simulation (one batch, :func:`simulation_blocks`). It
        returns the profit and the gas the executor measured itself spending, so the gas limit
        needs no eth_estimateGas (:mod:`mevbot.execution.gas`); the base fee is the newest head's
        (:meth:`observe_head`). The lower profit and the higher gas of the two answers count.

        While the simulation is in flight the transaction is already signed, with the most gas
        this cycle's simulations measured (plus :data:`EARLY_GAS_SLACK_PCT`), or for a cycle's
        first trade the scanner's gas model (:func:`early_gas_guess`): it is sent as signed
        if that limit covers what this simulation measured, else signed again with the new limit
        (a dropped request leaves its nonce unused). So the signature costs no time after the
        answer, unless it takes longer than the round trip."""
        opp = request.opportunity
        s = self.settings
        min_profit = min_profit_of(opp, s)
        calldata = execute_calldata(opp, min_profit=min_profit, flash=s.flash)
        base = dict(request_id=request.request_id, cycle_key=opp.cycle_key, expected_profit=opp.gross_profit,
                    calldata="0x" + calldata.hex(), seq=opp.seq, tx_index=opp.tx_index)
        sender = self.key.address if self.key is not None else None
        call = tx_object({"to": self.executor, "data": to_data(calldata), **({"from": sender} if sender else {})})
        blocks = simulation_blocks(s)
        simulation = [("eth_call", [call, block]) for block in blocks]
        if s.dry_run or self.key is None:
            checked = await self._simulated(await self._begin(simulation), blocks, base, min_profit)
            if isinstance(checked, ExecutionResult):
                return checked
            return ExecutionResult(status="dry_run", reason="dry run: simulated, not sent",
                                   simulated_profit=checked[0], **base)
        if self.base_fee_wei is None:
            try:
                await self.refresh_base_fee()
            except (RpcError, ValueError) as exc:
                return ExecutionResult(status="dropped", reason=f"no base fee: the head could not be read: {exc}",
                                       **base)
        base_fee = self.base_fee_wei or 0

        def signed_with(measured_gas: int) -> tuple[int, bytes]:
            limit = gas_limit(measured_gas=measured_gas, calldata=calldata, hops=len(opp.route),
                              l1_gas=l1_gas_of(opp.l1_cost_wei, base_fee), margin_pct=s.gas_margin_pct)
            tx = build_transaction(calldata, s, executor=self.executor, chain_id=self.chain_id, gas_limit=limit,
                                   base_fee_wei=base_fee, nonce=slot.nonce)
            return limit, self.key.sign_transaction(tx)

        async with self.nonces.slot() as slot:
            pending = await self._begin(simulation)
            seen = self.measured_gas.get(opp.cycle_key)
            guess = early_gas_guess(seen, opp.gas_units)
            presigned = signed_with(guess) if guess is not None and getattr(pending, "in_flight", False) else None
            checked = await self._simulated(pending, blocks, base, min_profit)
            if isinstance(checked, ExecutionResult):
                return checked  # the nonce stays unused
            simulated, measured_gas = checked
            self.measured_gas[opp.cycle_key] = max(measured_gas, seen or 0)
            needed = gas_limit(measured_gas=measured_gas, calldata=calldata, hops=len(opp.route),
                               l1_gas=l1_gas_of(opp.l1_cost_wei, base_fee), margin_pct=s.gas_margin_pct)
            if presigned is not None and presigned[0] >= needed:
                self.presigned_used += 1
                limit, raw_tx = presigned
            else:
                if presigned is not None:
                    self.presigned_discarded += 1
                limit, raw_tx = signed_with(measured_gas)
            reason = halted() if halted is not None else None
            if reason:
                return ExecutionResult(status="dropped", reason=f"halted before sending: {reason}",
                                       simulated_profit=simulated, **base)
            signed_ns = time.time_ns()
            tx_hash, error = await self._send(raw_tx)
            sent_ns = time.time_ns() if tx_hash is not None else None
            if tx_hash is not None:
                slot.sent()
            elif isinstance(error, NodeError) and nonce_error_kind(error.message):
                slot.resync()
            else:
                slot.refused()
        sent = dict(base, simulated_profit=simulated, nonce=slot.nonce, gas_limit=limit, signed_ns=signed_ns,
                    sent_ns=sent_ns)
        if tx_hash is None:
            return ExecutionResult(status="failed", reason=f"send refused: {error}", **sent)
        return Submitted(tx_hash, sent)

    async def _begin(self, simulation: list) -> Any:
        """Put the simulation on the wire (``rpc.begin``: over its WebSocket; without one, it is
        made over HTTP when its answers are awaited)."""
        try:
            return await self.rpc.begin(simulation)
        except (RpcError, ValueError) as exc:
            return _Failed(exc)

    async def _simulated(self, pending: Any, blocks: tuple[str, ...], base: dict, min_profit: int
                         ) -> ExecutionResult | tuple[int, int]:
        """``(profit, gas)`` of the simulation, or the dropped result saying why it failed."""
        try:
            answers = await pending.answers()
        except (RpcError, ValueError) as exc:
            return ExecutionResult(status="dropped", reason=f"simulation failed: {exc}", **base)
        outcomes = []
        for block, answer in zip(blocks, answers):
            where = "" if block == "latest" else f" at {block} (behind the transactions the node holds)"
            if isinstance(answer, NodeError):
                return ExecutionResult(status="dropped", reason=f"simulation reverted{where}: {revert_reason(answer)}",
                                       **base)
            try:
                outcomes.append(decode_execute_result(read_data(answer, "eth_call")))
            except (RpcError, ValueError) as exc:
                return ExecutionResult(status="dropped", reason=f"simulation failed{where}: {exc}", **base)
        simulated = min(profit for profit, _ in outcomes)
        if simulated < min_profit:
            return ExecutionResult(status="dropped", reason=f"simulated profit {simulated} below {min_profit}",
                                   simulated_profit=simulated, **base)
        return simulated, max(gas for _, gas in outcomes)

    async def _send(self, raw_tx: bytes) -> tuple[str | None, Exception | None]:
        """Send to every endpoint at once; the hash if any accepted it, else the last error.

        A transport failure everywhere leaves the transaction possibly landed: look it up by
        hash before sending the same bytes again (at most twice).
        """
        from eth_utils import keccak

        expected_hash = "0x" + keccak(raw_tx).hex()
        for attempt in range(3):
            results: list[tuple[str | None, Exception | None]] = []

            async def send_one(client: Any) -> None:
                try:
                    results.append((await client.send_raw_transaction(raw_tx), None))
                except RpcError as exc:
                    results.append((None, exc))

            async with trio.open_nursery() as nursery:
                for client in self.senders:
                    nursery.start_soon(send_one, client)
            accepted = [h for h, _ in results if h is not None]
            if accepted:
                return accepted[0], None
            errors = [e for _, e in results if e is not None]
            if any(isinstance(e, NodeError) and nonce_error_kind(e.message) == "low" for e in errors):
                # "already known" / "nonce too low" may mean our own copy got there first
                if await self._known(expected_hash):
                    return expected_hash, None
            node_errors = [e for e in errors if isinstance(e, NodeError)]
            if node_errors:
                return None, node_errors[0]  # a definite refusal: do not resend
            if await self._known(expected_hash):
                return expected_hash, None
            log.warning("send of %s failed in transport on every endpoint (attempt %d): %s",
                        expected_hash, attempt + 1, errors[-1] if errors else "no endpoint")
        return None, errors[-1] if errors else RuntimeError("no endpoint to send to")

    async def _known(self, tx_hash: str) -> bool:
        try:
            return await self.rpc.call("eth_getTransactionByHash", [tx_hash]) is not None
        except RpcError:
            return False

    async def _track(self, tx_hash: str, sent: dict) -> ExecutionResult:
        receipt = None
        with trio.move_on_after(self.settings.receipt_timeout_s):
            while receipt is None:
                try:
                    receipt = await self.rpc.get_transaction_receipt(tx_hash)
                except RpcError as exc:
                    log.warning("receipt of %s: %s", tx_hash, exc)
                if receipt is None:
                    await trio.sleep(0.05)  # polling the chain for the receipt
        if receipt is None:
            return ExecutionResult(status="failed", reason=f"no receipt within {self.settings.receipt_timeout_s:g} s",
                                   tx_hash=tx_hash, **sent)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice", "0x0"), 16)
        block = int(receipt["blockNumber"], 16)
        common = dict(tx_hash=tx_hash, gas_used=gas_used, gas_cost_wei=gas_used * price, block_number=block, **sent)
        if receipt.get("status") != "0x1":
            return ExecutionResult(status="reverted", reason="reverted on chain", realised_profit=0, **common)
        events = executed_events(receipt, self.executor)
        realised = sum(e.profit for e in events)
        return ExecutionResult(status="succeeded", reason="landed", realised_profit=realised, **common)
