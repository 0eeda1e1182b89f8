"""`mevbot up` runs a three-process placement over Unix sockets, restarts a killed process, stops all.

Real processes on the devnet: `mevbot up` starts `mevbot run --process X` for feed (monitor,
parser, pipeline), scan (scanner) and trade (risk, execution, store); each serves its own control
socket and links to the others over Unix sockets.
"""

from __future__ import annotations

import json
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .procs import (MEVBOT, THREE_PROCESSES, Proc, base_config, environ, is_ready, peers_of, pid_alive,
                    placement_toml, socket_of, status_of, wait_until)

pytestmark = pytest.mark.devnet


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="mbdep") as name:
        yield Path(name)


def up_status(workdir: Path, env) -> dict:
    done = subprocess.run([*MEVBOT, "up", "--config", str(workdir / "config.toml"), "--status", "--json"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=30)
    return json.loads(done.stdout)


def test_up_starts_every_process_restarts_one_killed_with_sigkill_and_stops_all_on_sigterm(devnet, workdir):
    (workdir / "config.toml").write_text(base_config(workdir) + placement_toml(workdir, THREE_PROCESSES))
    env = environ(devnet, workdir)
    up = Proc(["up", "--config", str(workdir / "config.toml")], workdir, env, "up.log")
    try:
        sockets = {name: socket_of(workdir, name) for name in THREE_PROCESSES}
        wait_until(lambda: all(is_ready(s) for s in sockets.values()), 60, "all three processes ready",
                   up.log_text)
        for name, modules in THREE_PROCESSES.items():
            status = status_of(sockets[name])
            assert sorted(m["name"] for m in status["modules"]) == sorted(modules)
            assert {p["peer"] for p in peers_of(sockets[name])} == set(THREE_PROCESSES) - {name}
        seen = up_status(workdir, env)
        assert {n: p["supervisor"]["state"] for n, p in seen["processes"].items()} == dict.fromkeys(
            THREE_PROCESSES, "running")
        pids = {name: status_of(s)["pid"] for name, s in sockets.items()}

        # kill -9 the scanner's process: the supervisor restarts it and the links come back
        subprocess.run(["kill", "-9", str(pids["scan"])], check=True)
        wait_until(lambda: (status_of(sockets["scan"]) or {}).get("pid") not in (None, pids["scan"])
                   and all(is_ready(s) for s in sockets.values()), 60, "scan restarted and relinked",
                   up.log_text)
        log = up.log_text()
        assert "up: process scan died (killed by SIGKILL)" in log and "restart 1" in log
        assert "[scan] " in log  # the children's output is forwarded, prefixed
        seen = up_status(workdir, env)
        assert seen["processes"]["scan"]["supervisor"]["restarts"] == 1
        assert seen["processes"]["feed"]["supervisor"]["restarts"] == 0
        new_pids = {name: status_of(s)["pid"] for name, s in sockets.items()}
        assert new_pids["feed"] == pids["feed"] and new_pids["trade"] == pids["trade"]

        up.signal(signal.SIGTERM)
        assert up.wait(40) == 0, up.log_text()[-4000:]
        assert not any(pid_alive(pid) for pid in new_pids.values())
        assert not any(s.exists() for s in sockets.values())  # each removed its control socket
        log = up.log_text()
        for name in THREE_PROCESSES:
            assert f"up: process {name} stopped (exit code 0)" in log
    finally:
        up.kill()


def own_patterns(routes: list[dict], process: str) -> list[str]:
    local = next(r for r in routes if r["transport"] == "memory")
    return sorted({s["pattern"] for s in local["subscriptions"]} | {f"_inbox.{process}"})


def test_every_process_of_a_placement_learns_what_each_peer_subscribes_to(devnet, workdir):
    from mevbot.control.client import send_command

    (workdir / "config.toml").write_text(base_config(workdir) + placement_toml(workdir, THREE_PROCESSES))
    up = Proc(["up", "--config", str(workdir / "config.toml")], workdir, environ(devnet, workdir), "up.log")
    try:
        sockets = {name: socket_of(workdir, name) for name in THREE_PROCESSES}
        wait_until(lambda: all(is_ready(s) for s in sockets.values()), 60, "all three processes ready",
                   up.log_text)
        wanted = {name: own_patterns(send_command(s, "routes")["routes"], name) for name, s in sockets.items()}
        expected = {(name, peer): wanted[peer] for name in THREE_PROCESSES for peer in THREE_PROCESSES
                    if peer != name}

        def views() -> dict:  # what each process believes each peer subscribes to
            return {(name, r["peer"]): sorted(r["patterns"]) for name, s in sockets.items()
                    for r in send_command(s, "routes")["routes"] if r["transport"] != "memory"}
        deadline = time.monotonic() + 5
        while views() != expected and time.monotonic() < deadline:
            time.sleep(0.1)  # interest updates are in flight: poll with a deadline
        assert views() == expected
    finally:
        up.kill()
