"""The risk and execution modules of a real bot, trading on a devnet that the test mines by hand.

A devnet of this module's own (anvil from the saved state, interval mining off): each block is
mined by the test with ``evm_mine``, so it decides which transactions share a block, and anvil's
FIFO order decides who goes first. That makes a revert forcible without any fake: the test opens
a price gap (mined) and hands the bot the gap's opportunity; the bot simulates, estimates and
sends. Before the block is mined, the test takes the bot's signed transaction out of the mempool
(``anvil_dropTransaction``), sends a trade that closes the gap, and puts the bot's identical
bytes back: another trader got sequenced first. The block then holds the closing trade and,
behind it, the bot's transaction, which reverts on chain.

The scanner is the test: it publishes ``arb.opportunity`` found by the real scanner on state read
from the chain. `mevbot ctl` is the real CLI talking to the bot's control socket.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from eth_abi import encode
from eth_utils import keccak

from mevbot.rpc.client import RpcClient

pytestmark = pytest.mark.devnet

MEVBOT = str(Path(sys.executable).parent / "mevbot")
MAX_FAILURES = 2
GAP_TRADER, CLOSER = 6, 7


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


@pytest.fixture(scope="module")
def manual_devnet(tmp_path_factory):
    from tests.fixtures.devnet import Devnet, _start_devnet, _stop

    home = tmp_path_factory.mktemp("manual-devnet")
    process, manifest = _start_devnet(home)
    net = Devnet(manifest, home)
    net.rpc.call("evm_setIntervalMining", 0)  # from now on, a block only when the test mines one
    try:
        yield net
    finally:
        net.rpc.close()
        _stop(process)


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="mbrisk") as name:  # short: the control socket's path
        yield Path(name)


@pytest.fixture(autouse=True)
def bot_key(monkeypatch):
    from mevbot.devnet.executor import bot_account

    monkeypatch.setenv("MEVBOT_DEVNET_KEY", bot_account().key.hex())  # anvil's public test key
    return bot_account()


def write_config(net, workdir: Path) -> Path:
    path = workdir / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [runtime]
        watch_config = false
        [control]
        socket_path = "{workdir / 'bot.sock'}"
        [rpc]
        http_urls = ["{net.rpc_url}"]
        [bus]
        persist_path = "{workdir / 'bus.sqlite'}"
        [risk]
        state_path = "{workdir / 'risk-state.json'}"
        max_consecutive_failures = {MAX_FAILURES}
        breaker_cooldown_s = 0
        max_price_impact_bps = 5000
        [store]
        path = "{workdir / 'store.sqlite'}"
        [execution]
        dry_run = false
        executor = "{net.manifest['contracts']['executor']}"
        receipt_timeout_s = 30
    """))
    return path


@asynccontextmanager
async def running_bot(config_path: Path):
    """A bot with the risk, execution and store modules (the test plays the scanner)."""
    from mevbot.config import load_config
    from mevbot.execution.module import ExecutionModule
    from mevbot.risk.module import RiskModule
    from mevbot.runtime.bot import Bot
    from mevbot.store.module import StoreModule

    config = load_config(str(config_path))
    bot = Bot(config, [RiskModule(), ExecutionModule(), StoreModule()], absent_ok=["scanner"],
              handle_signals=False)
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.run)
        try:
            yield bot
        finally:
            bot.request_stop()


async def ctl(config_path: Path, *args: str) -> str:
    done = await trio.run_process([MEVBOT, "ctl", "--config", str(config_path), *args], capture_stdout=True,
                                  capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


class Chain:
    """The test's hand on the manually mined devnet (async, so the bot keeps running)."""

    def __init__(self, net, rpc: RpcClient) -> None:
        self.net, self.rpc = net, rpc
        self.weth = net.manifest["contracts"]["weth9"]

    async def mine(self) -> None:
        await self.rpc.call("evm_mine", [])

    async def pending_nonce(self, address: str) -> int:
        return await self.rpc.get_transaction_count(address, "pending")

    async def send(self, account_index: int, to: str, data: bytes, value: int = 0) -> str:
        return await trio.to_thread.run_sync(
            lambda: self.net.send_transaction(self.net.account(account_index), to, data, value=value))

    async def receipt(self, tx_hash: str) -> dict:
        return await self.rpc.get_transaction_receipt(tx_hash)

    async def token_balance(self, token: str, holder: str) -> int:
        data = selector("balanceOf(address)") + encode(["address"], [holder])
        return int.from_bytes(await self.rpc.eth_call(token, data), "big")

    def other(self, pool: dict) -> str:
        return pool["token1"] if pool["token0"].lower() == self.weth.lower() else pool["token0"]

    async def open_gap(self, pool: dict, eth_in: int) -> int:
        """Buy the pool's other token with ETH through its router, mined; returns what was bought."""
        trader = self.net.account(GAP_TRADER)
        before = await self.token_balance(self.other(pool), trader.address)
        data = selector("swapExactETHForTokens(uint256,address[],address,uint256)") + encode(
            ["uint256", "address[]", "address", "uint256"],
            [0, [self.weth, self.other(pool)], trader.address, int(time.time()) + 600])
        tx = await self.send(GAP_TRADER, pool["router"], data, value=eth_in)
        await self.mine()
        assert (await self.receipt(tx))["status"] == "0x1"
        return await self.token_balance(self.other(pool), trader.address) - before

    async def close_gap_pending(self, pool: dict, tokens_in: int) -> str:
        """Sell the tokens back into the pool (another account), left in the mempool."""
        closer = self.net.account(CLOSER)
        data = selector("swapExactTokensForETH(uint256,uint256,address[],address,uint256)") + encode(
            ["uint256", "uint256", "address[]", "address", "uint256"],
            [tokens_in, 0, [self.other(pool), self.weth], closer.address, int(time.time()) + 600])
        return await self.send(CLOSER, pool["router"], data)

    async def pending_tx(self, address: str, nonce: int) -> str:
        pending = (await self.rpc.call("txpool_content", []))["pending"]
        by_sender = {k.lower(): v for k, v in pending.items()}[address.lower()]
        return by_sender[str(nonce)]["hash"]

    async def sequence_ahead(self, victim: str, send_first) -> str:
        """Put the transaction ``send_first()`` sends ahead of the pending ``victim`` (same bytes,
        same hash, re-sent after it); returns the first one's hash."""
        raw = await self.rpc.call("eth_getRawTransactionByHash", [victim])
        assert raw, f"the node does not give out pending {victim}"
        await self.rpc.call("anvil_dropTransaction", [victim])
        first = await send_first()
        assert await self.rpc.send_raw_transaction(raw) == victim
        return first

    async def opportunity(self, symbol: str):
        from tests.execution.test_executor_contract import find_opportunity

        uni, sushi = self.net.pool("uniswap_v2", "WETH", symbol), self.net.pool("sushiswap", "WETH", symbol)
        found = await find_opportunity(self.net, [uni, sushi])
        assert found, f"no opportunity on WETH/{symbol} after the gap"
        return found[0]

    async def mine_once_pending(self, address: str, nonce: int, results, *, timeout_s: float = 20) -> None:
        """Mine a block as soon as ``address`` has a transaction with ``nonce`` in the mempool."""
        await self.wait_pending(address, nonce, results, timeout_s=timeout_s)
        await self.mine()

    async def wait_pending(self, address: str, nonce: int, results, *, timeout_s: float = 20) -> None:
        """Until ``address`` has a transaction with ``nonce`` in the mempool (failing at once if
        an execution result shows that nothing will be sent)."""
        with trio.fail_after(timeout_s):
            while await self.pending_nonce(address) <= nonce:
                if results.depth:
                    early = (await results.receive()).payload
                    raise AssertionError(f"the bot sent nothing: {early.status}: {early.reason}")
                await trio.sleep(0.01)  # polling the node's mempool, with a deadline


async def next_payload(sub, *, timeout_s: float = 30):
    with trio.fail_after(timeout_s):
        async for env in sub:
            return env.payload


async def test_forced_reverts_trip_the_breaker_after_n_and_the_next_trade_is_refused(manual_devnet, workdir,
                                                                                     bot_key):
    config = write_config(manual_devnet, workdir)
    async with RpcClient([manual_devnet.rpc_url]) as rpc, running_bot(config) as bot:
        chain = Chain(manual_devnet, rpc)
        bus = bot.bus
        with bus.subscribe("exec.result", name="test.results") as results, \
                bus.subscribe("risk.decision", name="test.decisions") as decisions, \
                bus.subscribe("risk.breaker", name="test.trips") as trips:
            risk = bot.manager.module("risk")
            nonces = []
            for i, symbol in enumerate(["USDC", "USDT"][:MAX_FAILURES]):
                pool = manual_devnet.pool("uniswap_v2", "WETH", symbol)
                bought = await chain.open_gap(pool, 20 * 10**18)
                opp = await chain.opportunity(symbol)
                nonce = await chain.pending_nonce(bot_key.address)
                await bus.publish("arb.opportunity", opp, source="scanner")
                assert (await next_payload(decisions)).approved
                await chain.wait_pending(bot_key.address, nonce, results)
                sent = await chain.pending_tx(bot_key.address, nonce)
                closing = await chain.sequence_ahead(sent, lambda: chain.close_gap_pending(pool, bought))
                await chain.mine()
                result = await next_payload(results)
                assert result.tx_hash == sent
                assert result.status == "reverted", result
                assert result.gas_used and result.tx_hash and result.nonce == nonce
                receipt = await chain.receipt(result.tx_hash)
                assert receipt["status"] == "0x0" and (await chain.receipt(closing))["status"] == "0x1"
                assert receipt["blockNumber"] == (await chain.receipt(closing))["blockNumber"]
                nonces.append(result.nonce)
                with trio.fail_after(5):
                    await wait_consecutive(risk, i + 1)  # the risk module has counted this revert
                if i < MAX_FAILURES - 1:
                    assert risk.breaker.trip is None  # one short of N: still trading
            trip = await next_payload(trips)
            assert f"{MAX_FAILURES} consecutive failed executions" in trip.reason
            assert nonces == list(range(nonces[0], nonces[0] + MAX_FAILURES))  # one nonce each, no gap

            # a genuinely profitable opportunity now: refused by the tripped breaker, nothing sent
            await chain.open_gap(manual_devnet.pool("uniswap_v2", "WETH", "DAI"), 15 * 10**18)
            opp = await chain.opportunity("DAI")
            before = await chain.pending_nonce(bot_key.address)
            await bus.publish("arb.opportunity", opp, source="scanner")
            decision = await next_payload(decisions)
            assert not decision.approved and decision.rule == "halted"
            assert "circuit breaker" in decision.reason and "consecutive failed" in decision.reason
            assert await chain.pending_nonce(bot_key.address) == before

    # every decision, result and the trip are in the store for audit (written by the store module)
    import sqlite3

    with sqlite3.connect(workdir / "store.sqlite") as db:
        decided = db.execute("SELECT approved, rule FROM risk_decisions ORDER BY id").fetchall()
        outcomes = [row[0] for row in db.execute("SELECT status FROM execution_results ORDER BY id")]
        stored_trips = [row[0] for row in db.execute("SELECT reason FROM breaker_trips")]
    assert decided == [(1, None)] * MAX_FAILURES + [(0, "halted")]
    assert outcomes == ["reverted"] * MAX_FAILURES
    assert stored_trips == [trip.reason]


async def wait_consecutive(risk, count: int) -> None:
    while risk.breaker.consecutive_failures < count and risk.breaker.trip is None:
        await trio.sleep(0.01)  # polling the module's counter, with the caller's deadline


async def test_an_emergency_stop_prevents_the_next_send_and_survives_a_restart(manual_devnet, workdir, bot_key):
    from mevbot.risk.breakers import EmergencyStopStore

    config = write_config(manual_devnet, workdir)
    async with RpcClient([manual_devnet.rpc_url]) as rpc:
        chain = Chain(manual_devnet, rpc)
        async with running_bot(config) as bot:
            with bot.bus.subscribe("risk.decision", name="test.decisions") as decisions:
                assert "execution" in await ctl(config, "emergency-stop")
                await chain.open_gap(manual_devnet.pool("uniswap_v2", "WETH", "ARB"), 10 * 10**18)
                opp = await chain.opportunity("ARB")
                before = await chain.pending_nonce(bot_key.address)
                await bot.bus.publish("arb.opportunity", opp, source="scanner")
                decision = await next_payload(decisions)
                assert not decision.approved and decision.rule == "halted" and "emergency stop" in decision.reason
        assert EmergencyStopStore(workdir / "risk-state.json").current.active

        # a restart: new modules, new nonce manager, the same persisted state
        async with running_bot(config) as bot:
            assert bot.emergency_stopped
            assert bot.manager.status_of("execution").state.value == "paused"
            with bot.bus.subscribe("risk.decision", name="test.decisions") as decisions, \
                    bot.bus.subscribe("exec.result", name="test.results") as results:
                await bot.bus.publish("arb.opportunity", opp, source="scanner")
                decision = await next_payload(decisions)
                assert not decision.approved and decision.rule == "halted" and "emergency stop" in decision.reason
                assert await chain.pending_nonce(bot_key.address) == before  # nothing was ever sent

                assert "execution" in await ctl(config, "clear-stop")
                await bot.bus.publish("arb.opportunity", opp, source="scanner")  # the gap is still open
                assert (await next_payload(decisions)).approved
                await chain.mine_once_pending(bot_key.address, before, results)
                result = await next_payload(results)
        assert result.status == "succeeded" and result.realised_profit > 0, result
        assert result.nonce == before  # the first nonce after the restart: no gap


async def test_a_stop_set_after_approval_is_caught_right_before_signing(manual_devnet, tmp_path, bot_key):
    """The execution module asks the persisted stop again just before signing (the engine's
    ``halted`` hook), so a stop that lands while a request is being simulated still holds."""
    from mevbot.execution.engine import ExecutionEngine, ExecutionRequest
    from mevbot.execution.keys import TradingKey
    from mevbot.execution.settings import ExecutionSettings
    from mevbot.risk.breakers import EmergencyStopStore

    path = tmp_path / "risk-state.json"
    seen = EmergencyStopStore(path)  # as the execution module holds it, from before the stop
    async with RpcClient([manual_devnet.rpc_url]) as rpc:
        chain = Chain(manual_devnet, rpc)
        await chain.open_gap(manual_devnet.pool("sushiswap", "WETH", "USDC"), 10 * 10**18)
        opp = await chain.opportunity("USDC")
        engine = ExecutionEngine(rpc=rpc, senders=[rpc], key=TradingKey(bot_key),
                                 executor=manual_devnet.manifest["contracts"]["executor"],
                                 settings=ExecutionSettings(dry_run=False), chain_id=manual_devnet.chain_id)
        before = await chain.pending_nonce(bot_key.address)

        def halted() -> str | None:
            EmergencyStopStore(path).set("operator", now=time.time())  # lands mid-request, from "ctl"
            stop = seen.refresh()
            return f"emergency stop: {stop.reason}" if stop.active else None

        result = await engine.execute(ExecutionRequest("late-stop", opp), halted=halted)
        assert result.status == "dropped" and result.reason == "halted before sending: emergency stop: operator"
        assert result.simulated_profit == opp.gross_profit  # it was simulated, and only the stop held it
        assert result.tx_hash is None and await chain.pending_nonce(bot_key.address) == before


async def test_a_stop_while_a_trade_is_in_flight_waits_for_its_receipt_and_publishes_the_result(
        manual_devnet, workdir, bot_key):
    config = write_config(manual_devnet, workdir)
    async with RpcClient([manual_devnet.rpc_url]) as rpc:
        chain = Chain(manual_devnet, rpc)
        await chain.open_gap(manual_devnet.pool("sushiswap", "WETH", "DAI"), 8 * 10**18)
        opp = await chain.opportunity("DAI")
        async with running_bot(config) as bot:
            with bot.bus.subscribe("exec.result", name="test.results") as results:
                nonce = await chain.pending_nonce(bot_key.address)
                await bot.bus.publish("arb.opportunity", opp, source="scanner")
                await chain.wait_pending(bot_key.address, nonce, results)
                bot.request_stop()  # the transaction is sent, its block not mined yet
                with trio.fail_after(5):
                    while bot.manager.status_of("execution").state.value == "running":
                        await trio.sleep(0.01)  # until the shutdown reaches the execution module
                await chain.mine()
                result = await next_payload(results, timeout_s=5)
        assert result.status == "succeeded" and result.nonce == nonce and result.realised_profit > 0
        assert bot.shutdown_report is not None and bot.shutdown_report.clean


async def test_the_store_makes_no_rows_while_a_trade_is_simulated_and_sent(manual_devnet, workdir, bot_key,
                                                                          monkeypatch):
    """The store's work waits for an idle loop (mevbot.runtime.priority); a trade waiting for its
    simulation's answer looks idle, so the execution module marks simulate-sign-send as the hot
    path and the store's rows for the same opportunity come only after the send."""
    from mevbot.runtime import priority

    monkeypatch.setattr(priority, "MAX_BACKGROUND_WAIT_S", 30.0)  # a slow machine's trade: still no rows
    config = write_config(manual_devnet, workdir)
    async with RpcClient([manual_devnet.rpc_url]) as rpc:
        chain = Chain(manual_devnet, rpc)
        await chain.open_gap(manual_devnet.pool("uniswap_v2", "WETH", "WBTC"), 12 * 10**18)
        opp = await chain.opportunity("WBTC")
        async with running_bot(config) as bot:
            engine, store = bot.manager.module("execution").engine, bot.manager.module("store")
            trades: list[list[int]] = []  # [started, ended] of each submit
            conversions: list[int] = []
            converted_since_the_trade_began = trio.Event()
            submit, rows_of = engine.submit, store._rows_of

            async def timed_submit(*args, **kwargs):
                trades.append([time.perf_counter_ns()])
                try:
                    return await submit(*args, **kwargs)
                finally:
                    trades[-1].append(time.perf_counter_ns())

            def timed_rows_of(*args):
                conversions.append(time.perf_counter_ns())
                if trades:
                    converted_since_the_trade_began.set()
                return rows_of(*args)

            engine.submit, store._rows_of = timed_submit, timed_rows_of
            with bot.bus.subscribe("exec.result", name="test.results") as results:
                nonce = await chain.pending_nonce(bot_key.address)
                await bot.bus.publish("arb.opportunity", opp, source="scanner")
                await chain.wait_pending(bot_key.address, nonce, results)
                with trio.fail_after(10):
                    await converted_since_the_trade_began.wait()
                await chain.mine()
                result = await next_payload(results, timeout_s=10)
    assert result.status == "succeeded", result
    [(started, ended)] = trades
    assert conversions and not [t for t in conversions if started < t < ended]
