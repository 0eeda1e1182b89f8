"""The main job end to end: `mevbot demo` as a real process catches and executes arbitrages live.

The demo runs against the session's devnet (its ``[devnet] home`` is the fixture's, so it uses the
running chain instead of starting one), with its seeded noise traders, while the test opens
price gaps with real router swaps. The test reads the executor's WETH balance from the chain
itself before and after, and greps every file the run wrote for the bot's key.

Also here: anvil never outlives the process that started it, even one killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from eth_abi import encode
from eth_utils import keccak

pytestmark = pytest.mark.devnet

MEVBOT = str(Path(sys.executable).parent / "mevbot")
REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_CACHE = REPO_ROOT / ".devnet" / "cache"  # the devnet fixture's saved chain state
SUMMARY_KEYS = {"opportunities", "executed", "reverted", "rejected_by_risk", "profit_wei", "executor"}


def balance_of(devnet, token: str, holder: str) -> int:
    data = keccak(text="balanceOf(address)")[:4] + encode(["address"], [holder])
    return int.from_bytes(devnet.call(token, data), "big")


def open_gap(devnet, pool: dict, eth_in: int, account_index: int) -> None:
    """Buy the pool's other token with ETH through the pool's own router: its price moves away
    from the other DEXes' (the same swap as tests/execution's)."""
    weth = devnet.manifest["contracts"]["weth9"]
    other = pool["token1"] if pool["token0"].lower() == weth.lower() else pool["token0"]
    trader = devnet.account(account_index)
    data = keccak(text="swapExactETHForTokens(uint256,address[],address,uint256)")[:4] + encode(
        ["uint256", "address[]", "address", "uint256"], [0, [weth, other], trader.address, int(time.time()) + 600])
    assert devnet.transact(trader, pool["router"], data, value=eth_in)["status"] == "0x1"


def demo_config(workdir: Path, *, devnet_home: Path | None = None) -> Path:
    """A config keeping every file of the run in ``workdir``; the devnet on free ports."""
    home = devnet_home or workdir / ".devnet"
    path = workdir / "config.toml"
    path.write_text(textwrap.dedent(f"""
        [log]
        level = "INFO"
        file = "{workdir / 'demo.log'}"

        [control]
        socket_path = "{workdir / 'run' / 'bot.sock'}"

        [devnet]
        home = "{home}"
        manifest = "{home / 'manifest.json'}"
        rpc_port = 0
        feed_port = 0

        [parser]
        registry_db = "{workdir / 'registry.sqlite'}"

        [bus]
        persist_path = "{workdir / 'bus.sqlite'}"

        [risk]
        state_path = "{workdir / 'risk-state.json'}"

        [store]
        path = "{workdir / 'store.sqlite'}"
    """))
    return path


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}


def port_is_closed(url: str) -> bool:
    parsed = urlparse(url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((parsed.hostname, parsed.port)) != 0


def process_is_gone(pid: int) -> bool:
    """Exited (a zombie counts: nothing runs, nothing holds its sockets)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.05)  # polling a real process/file condition, with a deadline


@pytest.fixture
def workdir():
    # Short paths: the control socket's path must fit in 107 bytes.
    with tempfile.TemporaryDirectory(prefix="mbdemo") as name:
        yield Path(name)


def test_demo_executes_arbitrages_live_and_its_profit_is_the_executors_balance_change(devnet, workdir):
    executor = devnet.manifest["contracts"]["executor"]
    weth = devnet.manifest["contracts"]["weth9"]
    before = balance_of(devnet, weth, executor)
    config = demo_config(workdir, devnet_home=devnet.home)
    out_path, summary_path = workdir / "demo.out", workdir / "summary.json"
    with open(out_path, "wb") as out:
        demo = subprocess.Popen([MEVBOT, "demo", "--config", str(config), "--duration", "25", "--summary",
                                 str(summary_path), "--traffic-rate", "2"], cwd=workdir, env=clean_env(),
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"bot ok: all 7 modules ok" in out_path.read_bytes() or demo.poll() is not None, 30,
                 "the demo's bot ready")
        assert demo.poll() is None, out_path.read_text()
        assert "using the running devnet" in out_path.read_text()
        # seeded gap-opening swaps: big one-sided buys on one DEX leave the others' prices behind
        for dex, symbol, eth_in in (("uniswap_v2", "USDC", 20), ("sushiswap", "USDT", 8), ("uniswap_v2", "DAI", 15)):
            open_gap(devnet, devnet.pool(dex, "WETH", symbol), eth_in * 10**18, account_index=8)
        assert demo.wait(timeout=90) == 0, out_path.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    after = balance_of(devnet, weth, executor)
    summary = json.loads(summary_path.read_text())
    assert SUMMARY_KEYS <= summary.keys()
    assert summary["executor"] == executor
    assert summary["executed"] >= 1, summary
    assert summary["opportunities"] >= summary["executed"] + summary["rejected_by_risk"]
    assert summary["profit_wei"] > 0
    assert summary["profit_wei"] == after - before  # measured on the chain, not from the bot's own figures
    assert summary["realised_profit_events_wei"] == summary["profit_wei"]  # the Executed events agree
    text = out_path.read_text()
    assert f"from {summary['executed']} executed arbitrages" in text

    # no key material anywhere the run wrote: its screen, its log, the store, the bus journal
    from mevbot.devnet.executor import bot_account

    secret = bot_account().key.hex().removeprefix("0x").lower()
    needles = [secret.encode(), ("0x" + secret).encode(), secret.upper().encode(), bytes.fromhex(secret)]
    written = [p for p in workdir.rglob("*") if p.is_file()] + [devnet.home / "anvil.log"]
    assert {"demo.log", "store.sqlite", "bus.sqlite"} <= {p.name for p in written}
    assert "succeeded: landed" in (workdir / "demo.log").read_text()  # the log does record the trades
    for path in written:
        data = path.read_bytes()
        assert not any(n in data or n in data.lower() for n in needles), f"key material in {path}"


def test_a_demo_killed_with_sigkill_leaves_no_anvil_behind(workdir):
    config = demo_config(workdir)
    status_path = workdir / ".devnet" / "devnet.json"
    with open(workdir / "demo.out", "wb") as out:
        demo = subprocess.Popen([MEVBOT, "demo", "--config", str(config), "--cache-dir", str(REPO_CACHE)],
                                cwd=workdir, env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: status_path.exists() or demo.poll() is not None, 120, "the demo's devnet up")
        assert demo.poll() is None, (workdir / "demo.out").read_text()
        status = json.loads(status_path.read_text())
        anvil_pid = status["anvil_pid"]
        assert status["pid"] == demo.pid and not process_is_gone(anvil_pid)
    finally:
        demo.kill()  # SIGKILL: no finally block of the demo runs
        demo.wait()
    wait_for(lambda: process_is_gone(anvil_pid), 10, f"anvil {anvil_pid} gone after its parent was killed")
    wait_for(lambda: port_is_closed(status["rpc_url"]), 10, "anvil's port free again")
    anvil_log = (workdir / ".devnet" / "anvil.log").read_bytes()
    assert b"Listening on 127.0.0.1:" in anvil_log and b"Private Keys" in anvil_log  # its real output...
    assert_no_dev_keys(anvil_log)  # ...with the banner's keys and mnemonic redacted


def test_a_sigterm_to_the_demos_process_group_stops_it_cleanly_before_its_chain(workdir):
    """`timeout`, a terminal's Ctrl-C and service managers signal the whole process group: anvil
    is in a group of its own, so the demo stops the bot and the traders first and then the
    chain, and exits 0 with no traceback (before, anvil died at once and the traders' next
    call raised out of the demo)."""
    config = demo_config(workdir)
    out_path = workdir / "demo.out"
    status_path = workdir / ".devnet" / "devnet.json"
    with open(out_path, "wb") as out:
        demo = subprocess.Popen([MEVBOT, "demo", "--config", str(config), "--cache-dir", str(REPO_CACHE),
                                 "--traffic-rate", "20"], cwd=workdir, env=clean_env(), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: b"bot ok: all 7 modules ok" in out_path.read_bytes() or demo.poll() is not None, 120,
                 "the demo's bot ready")
        assert demo.poll() is None, out_path.read_text()
        anvil_pid = json.loads(status_path.read_text())["anvil_pid"]
        assert os.getpgid(anvil_pid) != os.getpgid(demo.pid)
        os.killpg(demo.pid, signal.SIGTERM)
        assert demo.wait(timeout=60) == 0, out_path.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    text = out_path.read_text()
    assert "Traceback" not in text and "ChainRpcError" not in text, text
    wait_for(lambda: process_is_gone(anvil_pid), 10, f"anvil {anvil_pid} stopped by the demo")


def assert_no_dev_keys(data: bytes) -> None:
    from mevbot.devnet.accounts import dev_account

    assert b"test test test" not in data  # anvil's public mnemonic
    for i in range(10):
        secret = dev_account(i).key.hex().removeprefix("0x").lower().encode()
        assert secret not in data.lower(), f"dev account {i}'s key is in the log"


def test_anvil_started_from_a_thread_outlives_the_thread_but_not_the_process(tmp_path):
    """The kernel's parent-death signal follows the forking *thread*; trio's worker threads exit
    when idle, so anvil must not die with the thread that asked for it."""
    script = tmp_path / "start_anvil.py"
    script.write_text(textwrap.dedent(f"""
        import json, os, sys, threading, urllib.request
        from pathlib import Path
        from mevbot.devnet.anvil import AnvilProcess, anvil_argv

        started = {{}}
        def start():
            started["anvil"] = AnvilProcess.start(anvil_argv(port=0, chain_id=31337, block_time_ms=None),
                                                  Path({str(tmp_path / 'anvil.log')!r}))
            started["tid"] = threading.get_native_id()
        worker = threading.Thread(target=start)
        worker.start()
        worker.join()
        while os.path.exists(f"/proc/self/task/{{started['tid']}}"):
            pass  # until the kernel has finished with the thread (and sent any death signal)
        anvil = started["anvil"]
        body = json.dumps({{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}}).encode()
        request = urllib.request.Request(anvil.rpc_url, body, {{"Content-Type": "application/json"}})
        reply = json.loads(urllib.request.urlopen(request, timeout=10).read())
        print(json.dumps({{"pid": anvil.process.pid, "rpc_url": anvil.rpc_url, "chain_id": reply["result"],
                          "alive": anvil.process.poll() is None}}), flush=True)
        sys.stdin.read()  # hold on until killed
    """))
    parent = subprocess.Popen([sys.executable, str(script)], cwd=REPO_ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = parent.stdout.readline()
        assert line, parent.stderr.read()
        info = json.loads(line)
        assert info["alive"] and info["chain_id"] == hex(31337)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    wait_for(lambda: process_is_gone(info["pid"]), 10, f"anvil {info['pid']} gone after its parent was killed")
    wait_for(lambda: port_is_closed(info["rpc_url"]), 10, "anvil's port free again")
