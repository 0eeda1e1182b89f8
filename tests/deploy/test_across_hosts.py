"""Across hosts: two network namespaces joined by a veth pair stand in for two machines.

Host a (10.213.0.1) runs process ``feed`` (monitor, parser, pipeline, scanner, risk); host
b (10.213.0.2) runs ``exec`` (execution, store). Each namespace runs its own `mevbot up` (which
finds its host by the address the namespace owns); the two processes link over TCP at those
private addresses with the bus's HMAC handshake, so ``exec.request`` (a -> b) and ``exec.result``
(b -> a), the critical topics, cross the TCP link. The devnet listens on the root namespace's
loopback: tests/deploy/netns_forward.py forwards its ports into each namespace's loopback.

A monolithic bot runs beside them on the same devnet as the reference. One price gap is opened
with everything up. Then the second burst is caught in flight: ``exec``'s execution module is
paused, the second gap opened, and once risk (on host a) has approved its trades and their
``exec.request`` messages have crossed to ``exec`` and wait there unhandled (unacknowledged,
``critical_unhandled`` in its bus stats), ``exec`` is killed with -9, restarted by its `mevbot up`
and relinked; feed's journal redelivers every request, and each is executed and answered. The
decisions, execution requests and results stored must equal the monolithic bot's, and every
request has its result, once. The store is in the killed process with execution: the restarted
process holds the redelivered requests until both its modules have subscribed, so each request
reaches execution and the store, and each result the store (mevbot/bus/handover.py, the gate).
Risk's in-flight rule is off in both bots (procs.SAME_TIMING_RISK): results that come back late
(a TCP hop, a kill) would otherwise change what it decides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from mevbot.control.client import send_command

from .procs import (ROOT, SAME_TIMING_RISK, Proc, base_config, decisions, environ, is_ready,
                    matches_eventually, pid_alive, rows, socket_of, status_of, wait_until)
from .procs import open_gap, settle_backlog, settled

pytestmark = [pytest.mark.devnet,
              pytest.mark.skipif(os.geteuid() != 0, reason="creating network namespaces needs root")]


ADDRESS_A, ADDRESS_B = "10.213.0.1", "10.213.0.2"
# Approve what the scanner finds however far earlier tests moved these pools' prices, so that
# exec.request and exec.result really cross the TCP link (the same in both bots).
TRADING_RISK = SAME_TIMING_RISK + "max_price_impact_bps = 10_000\n"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def two_hosts():
    """Two namespaces joined by a veth pair; both (and so the pair) are deleted even on failure."""
    tag = uuid.uuid4().hex[:6]
    ns_a, ns_b = f"mbA{tag}", f"mbB{tag}"
    made: list[str] = []
    try:
        for ns in (ns_a, ns_b):
            ip("netns", "add", ns)
            made.append(ns)
        ip("link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}")
        made.append(f"link:va{tag}")
        ip("link", "set", f"va{tag}", "netns", ns_a)
        ip("link", "set", f"vb{tag}", "netns", ns_b)
        for ns, dev, addr in ((ns_a, f"va{tag}", ADDRESS_A), (ns_b, f"vb{tag}", ADDRESS_B)):
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield ns_a, ns_b
    finally:
        for item in reversed(made):
            if item.startswith("link:"):  # normally gone with its namespace already
                subprocess.run(["ip", "link", "del", item[5:]], capture_output=True, timeout=10)
            else:
                subprocess.run(["ip", "netns", "del", item], capture_output=True, timeout=10)


def placement(workdir: Path) -> str:
    return base_config(workdir) + f"""secret = "netns-test-secret-0123456789abcdef"

[deploy.hosts.a]
address = "{ADDRESS_A}"

[deploy.hosts.b]
address = "{ADDRESS_B}"

[deploy.processes.feed]
host = "a"
modules = ["monitor", "parser", "pipeline", "scanner", "risk"]
tcp = "{ADDRESS_A}:7311"

[deploy.processes.exec]
host = "b"
modules = ["execution", "store"]
tcp = "{ADDRESS_B}:7312"
""" + TRADING_RISK


EXECUTIONS = "SELECT request_id, cycle_key FROM executions WHERE ts >= ? ORDER BY request_id"
RESULTS = "SELECT request_id, cycle_key, status FROM execution_results WHERE ts >= ? ORDER BY request_id"


def outcomes(store: Path, since: float) -> set[tuple]:
    """(cycle_key, status) of every execution result. Not the request ids: they count the risk
    manager's approvals, and whether an intent-triggered one exists is a race (procs.compare_runs)."""
    return {(cycle, status) for _, cycle, status in rows(store, RESULTS, since)}


def executed(store: Path, since: float) -> set[str]:
    return {cycle for _, cycle in rows(store, EXECUTIONS, since)}


def test_two_hosts_over_tcp_survive_a_kill_9_and_decide_as_the_monolithic_bot(devnet, two_hosts):
    ns_a, ns_b = two_hosts
    ports = sorted({urlparse(devnet.rpc_url).port, urlparse(devnet.ws_url).port, urlparse(devnet.feed_url).port})
    children: list = []
    with tempfile.TemporaryDirectory(prefix="mbnet") as placed_dir, \
            tempfile.TemporaryDirectory(prefix="mbref") as mono_dir:
        placed_dir, mono_dir = Path(placed_dir), Path(mono_dir)
        try:
            for ns in (ns_a, ns_b):
                forward = subprocess.Popen([sys.executable, "-m", "tests.deploy.netns_forward", ns, *map(str, ports)],
                                           cwd=ROOT, stdout=subprocess.PIPE, text=True)
                children.append(forward)
                assert forward.stdout.readline() == "ready\n"
            (mono_dir / "config.toml").write_text(base_config(mono_dir) + TRADING_RISK)
            mono = Proc(["run", "--config", str(mono_dir / "config.toml")], mono_dir, environ(devnet, mono_dir),
                        "bot.log")
            children.append(mono)
            (placed_dir / "config.toml").write_text(placement(placed_dir))
            env = environ(devnet, placed_dir)
            env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"
            ups = {}
            for ns, host in ((ns_a, "a"), (ns_b, "b")):
                ups[host] = Proc(["up", "--config", str(placed_dir / "config.toml")], placed_dir, env,
                                 f"up-{host}.log", prefix=["ip", "netns", "exec", ns])
                children.append(ups[host])

            def logs() -> str:
                return "".join(p.log_text()[-3000:] for p in ups.values())

            sockets = {p: socket_of(placed_dir, p) for p in ("feed", "exec")}
            wait_until(lambda: is_ready(mono_dir / "run" / "bot-{process}.sock"), 60, "reference bot ready",
                       mono.log_text)
            wait_until(lambda: all(is_ready(s) for s in sockets.values()), 60, "feed and exec linked over TCP", logs)
            routes = {r["peer"]: r for r in send_command(sockets["feed"], "routes")["routes"]}
            assert routes["exec"]["transport"] == "tcp" and routes["exec"]["address"].startswith(ADDRESS_A)
            assert "up: host a: starting feed" in ups["a"].log_text()
            assert "up: host b: starting exec" in ups["b"].log_text()

            mono_store, placed_store = mono_dir / "store.sqlite", placed_dir / "store.sqlite"
            settle_backlog(devnet, [(mono_store, mono.log_text), (placed_store, logs)])
            t0 = time.time()  # rows from here on are about our swaps only
            open_gap(devnet, devnet.pool("uniswap_v2", "WETH", "USDC"), 30 * 10**18)
            first = settled(lambda: decisions(mono_store, t0), 60, "reference decisions", mono.log_text)
            matches_eventually(lambda: decisions(placed_store, t0), first)

            # the second burst, caught in flight: its requests reach exec, which cannot handle them yet
            t1 = time.time()
            send_command(sockets["exec"], "pause", {"module": "execution"})
            open_gap(devnet, devnet.pool("sushiswap", "WETH", "USDC"), 20 * 10**18)
            both = settled(lambda: decisions(mono_store, t0), 60, "reference decisions", mono.log_text)
            assert len(both) > len(first)
            matches_eventually(lambda: decisions(placed_store, t0), both)
            approved = [d for d in decisions(placed_store, t1) if d[1]]
            assert approved  # something crosses as exec.request in this burst

            def unhandled() -> int:
                return send_command(sockets["exec"], "routes")["stats"]["critical_unhandled"]

            wait_until(lambda: unhandled() == len(approved), 30, "the burst's requests waiting at exec", logs)
            assert not rows(placed_store, RESULTS, t1)  # none of them answered yet

            killed = status_of(sockets["exec"])["pid"]
            os.kill(killed, signal.SIGKILL)
            wait_until(lambda: (status_of(sockets["exec"]) or {}).get("pid") not in (None, killed)
                       and all(is_ready(s) for s in sockets.values()), 60, "exec restarted and relinked", logs)
            assert "up: process exec died (killed by SIGKILL)" in ups["b"].log_text()

            want = settled(lambda: outcomes(mono_store, t0), 30, "reference results", mono.log_text)
            assert settled(lambda: outcomes(placed_store, t0), 30, "results across hosts", logs) == want
            assert executed(placed_store, t0) == executed(mono_store, t0)
            # none lost across the kill: every request that reached exec over TCP was executed and
            # answered, the burst's too, each once
            answered = [r for r, *_ in rows(placed_store, RESULTS, t0)]
            assert {r for r, _ in rows(placed_store, EXECUTIONS, t0)} == set(answered)
            assert len(answered) == len(set(answered))
            assert len(rows(placed_store, RESULTS, t1)) == len(approved)

            new_pids = [status_of(s)["pid"] for s in sockets.values()]
            for proc in ups.values():
                proc.signal(signal.SIGTERM)
            for proc in ups.values():
                assert proc.wait(40) == 0, logs()
            assert not any(pid_alive(pid) for pid in new_pids)
        finally:
            for child in reversed(children):
                if isinstance(child, Proc):
                    child.kill()
                elif child.poll() is None:
                    child.kill()
                    child.wait()
