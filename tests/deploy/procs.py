"""Helpers of the deployment tests: configs with a placement, `mevbot up`/`run` as real processes.

Every file a process writes lives in one short work folder (a Unix socket path must fit in 107
bytes). Readiness is polled through the real control sockets with a deadline: a process has no
other event to offer another process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mevbot.control.client import send_command
from mevbot.devnet.abi import encode_call
from mevbot.control.errors import ControlError
from tests.fixtures.botconfig import devnet_environ

MEVBOT = [sys.executable, "-m", "mevbot"]
ROOT = Path(__file__).resolve().parents[2]

# The distributed layout: the hot feed path, the scanner, and risk + execution (+ store).
THREE_PROCESSES = {
    "feed": ["monitor", "parser", "pipeline"],
    "scan": ["scanner"],
    "trade": ["risk", "execution", "store"],
}


# Two risk rules depend on timing and history rather than on the opportunity, so tests comparing
# decisions between deployments turn them off in both bots: the in-flight hold (it depends on how
# fast results come back: a TCP hop, a loaded machine; every trade now expires at once) and the
# volatility breaker (its window holds start-up history, e.g. the relay backlog's stale states,
# that differs between two bots started side by side).
SAME_TIMING_RISK = """
[risk]
in_flight_timeout_s = 1e-9
max_pool_move_bps = 1_000_000_000
"""


def base_config(workdir: Path, extra: str = "") -> str:
    return f"""
[log]
level = "INFO"

[runtime]
watch_config = false
shutdown_deadline_s = 5.0

[control]
socket_path = "{workdir / 'run' / 'bot-{process}.sock'}"

[bus]
persist_path = "{workdir / 'bus-{process}.sqlite'}"

[deploy]
peer_timeout_s = 20.0
restart_backoff_s = 0.2
restart_backoff_max_s = 2.0
{extra}"""


def placement_toml(workdir: Path, processes: dict[str, list[str]], overrides: dict[str, list[str]] = {}) -> str:
    parts = []
    for name, modules in processes.items():
        parts.append(f"[deploy.processes.{name}]\nmodules = {json.dumps(modules)}\n"
                     f"unix = \"{workdir / f'bus-{name}.sock'}\"\n")
        if name in overrides:
            parts.append(f"overrides = {json.dumps(overrides[name])}\n")
    return "\n".join(parts)


def environ(devnet, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    env.update(devnet_environ(devnet, workdir))
    env["MEVBOT__BUS__PERSIST_PATH"] = str(workdir / "bus-{process}.sqlite")
    env["PYTHONPATH"] = str(ROOT)
    return env


class Proc:
    """A real `mevbot ...` child with its output in a log file."""

    def __init__(self, argv: list[str], workdir: Path, env: dict[str, str], log_name: str, *,
                 prefix: list[str] = ()) -> None:
        self.log_path = workdir / log_name
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([*prefix, *MEVBOT, *argv], cwd=workdir, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log_text(self) -> str:
        """The output, without the RPC client's one line per HTTP request."""
        text = self.log_path.read_text(errors="replace")
        return "".join(line for line in text.splitlines(keepends=True) if "httpx: HTTP Request" not in line)

    def signal(self, signum: int) -> None:
        os.killpg(self.proc.pid, signum)  # the whole session: also through `ip netns exec`

    def wait(self, timeout_s: float) -> int:
        return self.proc.wait(timeout=timeout_s)

    def kill(self) -> None:
        """Stop it and everything it started: SIGTERM (`mevbot up` stops its children), then SIGKILL
        for whatever is left, children first (they run in sessions of their own)."""
        if self.proc.poll() is None:
            children = children_of(self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=25)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            for pid in children | children_of(self.proc.pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def children_of(pid: int) -> set[int]:
    """Direct children of ``pid`` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def status_of(socket_path: Path) -> dict | None:
    try:
        return send_command(socket_path, "status", timeout_s=2.0)
    except ControlError:
        return None


def peers_of(socket_path: Path) -> list[dict] | None:
    try:
        return send_command(socket_path, "peers", timeout_s=2.0).get("peers")
    except ControlError:
        return None


def is_ready(socket_path: Path) -> bool:
    status = status_of(socket_path)
    if status is None or not all(m["state"] == "running" for m in status["modules"]):
        return False
    peers = peers_of(socket_path)
    return peers is None or all(p["connected"] for p in peers)


def wait_until(condition, timeout_s: float, what: str, log=lambda: "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)  # polling real processes' state through their sockets, with a deadline
    raise AssertionError(f"{what}: not within {timeout_s} s\n{log()[-6000:]}")


def socket_of(workdir: Path, process: str) -> Path:
    return workdir / "run" / f"bot-{process}.sock"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def rows(store_path: Path, sql: str, *args) -> list[tuple]:
    if not store_path.exists():
        return []
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not created yet by the store
            return []


def decisions(store_path: Path, since: float = 0.0) -> list[tuple]:
    """Risk decisions made since ``since`` (wall clock), as (cycle_key, approved, rule, seq, tx_index)
    with the opportunity's block in front of the position: (..., block_number, seq, tx_index)."""
    return rows(store_path, "SELECT d.cycle_key, d.approved, d.rule, o.block_number, d.seq, d.tx_index "
                            "FROM risk_decisions d JOIN opportunities o ON o.trace_id = d.trace_id "
                            "AND o.cycle_key = d.cycle_key WHERE d.ts >= ? "
                            "ORDER BY o.block_number, d.seq, d.tx_index, d.cycle_key", since)


def opportunities(store_path: Path, since: float = 0.0) -> list[tuple]:
    """(cycle_key, amount_in, gross_profit, block_number, seq, tx_index) found since ``since``."""
    return rows(store_path, "SELECT cycle_key, amount_in, gross_profit, block_number, seq, tx_index "
                            "FROM opportunities WHERE ts >= ? ORDER BY block_number, seq, tx_index, cycle_key",
                since)


def compare_runs(got: list[tuple], want: list[tuple], *, key_len: int = 3) -> None:
    """Assert two bots' rows (opportunities or decisions, position last) tell the same story.

    A swap's feed message and its block's logs race to the bot (relay vs log polling): when the
    logs win, the pipeline does not apply the intent again (no intent-triggered scan), so whether
    a row with a feed position (seq) exists is timing, not placement. What must be equal: the
    rows triggered by blocks (seq None), exactly; every priced outcome (the row without its
    position), as a set; and no event may produce the same row twice.
    """
    def by_block(rows_):
        return [r for r in rows_ if r[-2] is None]

    def detail() -> str:
        only_got = sorted({r[:key_len] for r in got} - {r[:key_len] for r in want}, key=repr)[:3]
        only_want = sorted({r[:key_len] for r in want} - {r[:key_len] for r in got}, key=repr)[:3]
        return (f"placed {len(got)} rows ({len(by_block(got))} by block), monolithic {len(want)} "
                f"({len(by_block(want))} by block); only placed {only_got}; only monolithic {only_want}")

    for name, rows_ in (("placed", got), ("monolithic", want)):
        events = [tuple(r[:key_len]) + tuple(r[-3:]) for r in rows_]
        assert len(events) == len(set(events)), f"{name}: a row found twice for one event; {detail()}"
    assert by_block(got) == by_block(want), f"rows triggered by blocks differ; {detail()}"
    assert {r[:key_len] for r in got} == {r[:key_len] for r in want}, f"priced outcomes differ; {detail()}"


def matches_eventually(read, want: list[tuple], timeout_s: float = 30.0) -> list[tuple]:
    """Poll ``read()`` until it tells ``want``'s story (:func:`compare_runs`), or the deadline; then
    compare for real. A placed deployment may lag the monolithic bot (several processes on two
    shared cores), so its store going quiet for a moment does not mean it is done."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            compare_runs(read(), want)
            break
        except AssertionError:
            time.sleep(0.2)  # polling a store another process writes, with a deadline
    got = read()
    compare_runs(got, want)
    return got


def quiet(read, what: str, log=lambda: "", quiet_s: float = 2.0, timeout_s: float = 30.0) -> None:
    """Wait until ``read()`` has not changed for ``quiet_s``: a freshly started monitor gets the feed
    relay's whole backlog and the bot evaluates those old intents first (see docs/deployment.md)."""
    last, since = read(), time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.1)  # polling a store another process writes, with a deadline
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise AssertionError(f"{what}: still changing after {timeout_s} s\n{log()[-4000:]}")


TRADER = 6  # a spare anvil dev account: the test swaps that open price gaps


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
