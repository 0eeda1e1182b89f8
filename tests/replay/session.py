"""Helpers shared by the replay tests: the CLI as a real subprocess, and a price gap on the devnet."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from mevbot.devnet.abi import encode_call

ROOT = Path(__file__).resolve().parents[2]
GAP_TRADER = 9  # a spare dev account only these tests use


def mevbot_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def mevbot(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mevbot", *args], cwd=cwd, env=mevbot_env(env),
                          capture_output=True, text=True, timeout=timeout)


def open_gap(devnet, eth_in: int = 20 * 10**18, symbol: str = "USDT") -> str:
    """Buy ``symbol`` with ETH on Uniswap V2 only: its price moves away from SushiSwap's. The tx hash."""
    pool = devnet.pool("uniswap_v2", "WETH", symbol)
    weth = devnet.manifest["contracts"]["weth9"]
    other = pool["token1"] if pool["token0"].lower() == weth.lower() else pool["token0"]
    trader = devnet.account(GAP_TRADER)
    data = encode_call("swapExactETHForTokens(uint256,address[],address,uint256)", 0, [weth, other], trader.address,
                       int(time.time()) + 600)
    receipt = devnet.transact(trader, pool["router"], data, value=eth_in)
    assert receipt["status"] == "0x1"
    return receipt["transactionHash"]
