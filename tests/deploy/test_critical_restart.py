"""kill -9 of the execution process under `mevbot up`: every execution request still gets a result.

feed (monitor, parser, pipeline, scanner, risk, store) and exec (execution) over Unix sockets on
the devnet. Execution is paused (`pause` on its control socket) so the requests of a price gap
queue up at it (a stand-in for a busy execution); then exec is killed -9 with them queued and
restarted by `mevbot up`, and every ``exec.request`` the store recorded must get its
``exec.result`` (both critical topics): the receiving bus acknowledges a request only once
execution has handled it (7925c0e), so the publisher's journal redelivers the queued ones.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from mevbot.control.client import send_command

from .procs import (SAME_TIMING_RISK, Proc, base_config, environ, is_ready, placement_toml, rows, socket_of,
                    status_of, wait_until)
from .test_across_hosts import EXECUTIONS, RESULTS
from .procs import open_gap, settled

pytestmark = pytest.mark.devnet

PROCESSES = {"feed": ["monitor", "parser", "pipeline", "scanner", "risk", "store"], "exec": ["execution"]}
#: Earlier tests on the shared devnet may have moved these pools already: the gap's trades then
#: move a hop's price past risk's default 300 bps and every one was rejected (no request to
#: queue). This test is about redelivery, not that rule.
ANY_PRICE_IMPACT = "max_price_impact_bps = 10_000\n"


def queued_requests(socket: Path) -> int:
    routes = send_command(socket, "routes")["routes"]
    local = next(r for r in routes if r["transport"] == "memory")
    return sum(s["depth"] for s in local["subscriptions"] if s["pattern"] == "exec.request")


def test_requests_queued_at_a_killed_execution_process_are_all_answered_after_its_restart(devnet):
    with tempfile.TemporaryDirectory(prefix="mbcrit") as name:
        workdir = Path(name)
        (workdir / "config.toml").write_text(base_config(workdir) + SAME_TIMING_RISK + ANY_PRICE_IMPACT
                                             + placement_toml(workdir, PROCESSES))
        up = Proc(["up", "--config", str(workdir / "config.toml")], workdir, environ(devnet, workdir), "up.log")
        try:
            sockets = {p: socket_of(workdir, p) for p in PROCESSES}
            wait_until(lambda: all(is_ready(s) for s in sockets.values()), 60, "feed and exec ready", up.log_text)
            assert send_command(sockets["exec"], "pause", {"module": "execution"})["ok"]
            store = workdir / "store.sqlite"
            t0 = time.time()  # a request from the relay's backlog would be dropped by the paused module too
            open_gap(devnet, devnet.pool("uniswap_v2", "WETH", "USDC"), 30 * 10**18)
            requests = settled(lambda: rows(store, EXECUTIONS, t0), 60, "execution requests", up.log_text)
            # the paused module holds one request at its gate; the others wait in its queue
            wait_until(lambda: queued_requests(sockets["exec"]) == len(requests) - 1, 20,
                       f"{len(requests)} requests held at the paused execution", up.log_text)
            assert rows(store, RESULTS, t0) == []

            killed = status_of(sockets["exec"])["pid"]
            os.kill(killed, signal.SIGKILL)
            wait_until(lambda: (status_of(sockets["exec"]) or {}).get("pid") not in (None, killed)
                       and all(is_ready(s) for s in sockets.values()), 60, "exec restarted", up.log_text)
            answered = lambda: {r[0] for r in rows(store, RESULTS, t0)}  # noqa: E731
            try:
                wait_until(lambda: answered() >= {r[0] for r in requests}, 20, "a result for every request")
            finally:
                assert answered() == {r[0] for r in requests}
        finally:
            up.kill()
