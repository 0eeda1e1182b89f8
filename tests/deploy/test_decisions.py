"""Distributed and clustered placements decide exactly as the monolithic bot, on the same market.

Here live: the monolithic bot and the placed one run side by side, as real processes, on the
same devnet, and see the same feed and chain (test_replayed_decisions.py compares them exactly on
a replayed recording). Two price gaps are opened by real router swaps; each run's store
then holds the opportunities and risk decisions it made, compared by procs.compare_runs (amounts
and rules; not timestamps, and not net profit, which depends on which block's base fee each bot
had seen when it priced gas; rows with a feed position only as a set: whether a swap's feed
message beats its block's logs to the bot is a race on the devnet). Execution is dry run in both, so neither changes the chain. Risk's
in-flight rule is off in both (see procs.SAME_TIMING_RISK): it depends on result latency.

- distributed: feed (monitor, parser, pipeline), scan (scanner), trade (risk, execution, store)
  over Unix sockets: the same opportunities and the same decisions.
- clustered: the same with two scanner processes, shards 0/2 and 1/2: together the same
  opportunities, none found twice for one event. (Risk decisions are not compared here: two publishers
  interleave at risk in arrival order, so its in-flight rule may see them in another order.)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from mevbot.devnet.abi import encode_call

from .procs import (SAME_TIMING_RISK, THREE_PROCESSES, Proc, base_config, decisions, environ, is_ready,
                    matches_eventually, opportunities, placement_toml, quiet, socket_of, wait_until)

pytestmark = pytest.mark.devnet

TRADER = 6  # a spare anvil dev account
LAYOUTS = {
    "distributed": (THREE_PROCESSES, {}),
    "clustered": ({"feed": ["monitor", "parser", "pipeline"], "scan0": ["scanner"], "scan1": ["scanner"],
                   "trade": ["risk", "execution", "store"]},
                  {"scan0": ["scanner.shard=0/2"], "scan1": ["scanner.shard=1/2"]}),
}


def open_gap(devnet, pool: dict, eth_in: int) -> None:
    weth = devnet.manifest["contracts"]["weth9"]
    other = pool["token1"] if pool["token0"].lower() == weth.lower() else pool["token0"]
    trader = devnet.account(TRADER)
    data = encode_call("swapExactETHForTokens(uint256,address[],address,uint256)", 0, [weth, other],
                       trader.address, int(time.time()) + 600)
    assert devnet.transact(trader, pool["router"], data, value=eth_in)["status"] == "0x1"


def settle_backlog(devnet, bots) -> None:
    """Bring every bot to the chain's true state before a comparison starts.

    A fresh monitor gets the feed relay's whole backlog, and the pipeline applies those old
    intents as speculative state on top of a snapshot that already holds them (see
    docs/deployment.md): the swaps earlier tests made on these pools are counted twice, by some
    bots and not others, depending on start-up timing. A small confirmed swap on each such pool
    resets its state from the chain's logs in every bot alike.
    """
    for store, log in bots:
        quiet(lambda: opportunities(store), "the backlog's old intents evaluated", log)
    for pool in (devnet.pool("uniswap_v2", "WETH", "USDC"), devnet.pool("sushiswap", "WETH", "USDC")):
        open_gap(devnet, pool, 10**16)
    for store, log in bots:
        quiet(lambda: opportunities(store), "the reset swaps evaluated", log)


def settled(read, timeout_s: float, what: str, log) -> list:
    """``read()`` once it is non-empty and has not changed for 2 s (the bot finished the event)."""
    last, since = None, time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= 2.0:
            return now
        time.sleep(0.1)  # polling a store another process writes, with a deadline
    raise AssertionError(f"{what}: not settled within {timeout_s} s (last {last})\n{log()[-5000:]}")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_placed_deployment_finds_and_decides_what_the_monolithic_bot_does(devnet, layout):
    processes, overrides = LAYOUTS[layout]
    with tempfile.TemporaryDirectory(prefix="mbmono") as mono_dir, \
            tempfile.TemporaryDirectory(prefix="mbplaced") as placed_dir:
        mono_dir, placed_dir = Path(mono_dir), Path(placed_dir)
        (mono_dir / "config.toml").write_text(base_config(mono_dir) + SAME_TIMING_RISK)
        (placed_dir / "config.toml").write_text(base_config(placed_dir) + SAME_TIMING_RISK
                                                + placement_toml(placed_dir, processes, overrides))
        mono = Proc(["run", "--config", str(mono_dir / "config.toml")], mono_dir, environ(devnet, mono_dir),
                    "bot.log")
        placed = Proc(["up", "--config", str(placed_dir / "config.toml")], placed_dir,
                      environ(devnet, placed_dir), "up.log")
        try:
            mono_socket = mono_dir / "run" / "bot-{process}.sock"  # a plain run keeps the path as written
            wait_until(lambda: is_ready(mono_socket), 60, "monolithic bot ready", mono.log_text)
            wait_until(lambda: all(is_ready(socket_of(placed_dir, p)) for p in processes), 60,
                       f"{layout} deployment ready", placed.log_text)
            mono_store, placed_store = mono_dir / "store.sqlite", placed_dir / "store.sqlite"
            settle_backlog(devnet, [(mono_store, mono.log_text), (placed_store, placed.log_text)])
            t0 = time.time()  # rows from here on are about our swaps only

            open_gap(devnet, devnet.pool("uniswap_v2", "WETH", "USDC"), 30 * 10**18)
            open_gap(devnet, devnet.pool("sushiswap", "WETH", "USDC"), 20 * 10**18)

            want_opps = settled(lambda: opportunities(mono_store, t0), 60, "monolithic opportunities",
                                mono.log_text)
            matches_eventually(lambda: opportunities(placed_store, t0), want_opps)
            if layout == "distributed":
                want = settled(lambda: decisions(mono_store, t0), 30, "monolithic decisions", mono.log_text)
                matches_eventually(lambda: decisions(placed_store, t0), want)
            else:
                log = placed.log_text()
                assert "[scan0] " in log and "scanner: shard 0/2:" in log and "scanner: shard 1/2:" in log
        finally:
            placed.kill()
            mono.kill()
