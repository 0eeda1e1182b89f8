"""Placement checks and `mevbot run --process` / `mevbot up` refusals: typed errors naming the thing."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

from mevbot.bus.settings import DeploySettings, HostSettings, ProcessSettings
from mevbot.config.loader import load_config
from mevbot.deploy.errors import UnknownHostError, UnknownProcessError
from mevbot.deploy.placement import (control_socket_for, deployment_problems, modules_of, process_overrides,
                                     this_host)

from .procs import MEVBOT, ROOT, base_config, placement_toml


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="mbpl") as name:
        yield Path(name)


def config_from(workdir: Path, text: str):
    path = workdir / "config.toml"
    path.write_text(text)
    return load_config(path, environ={})


def test_each_process_gets_its_modules_overrides_and_own_control_socket(workdir):
    config = config_from(workdir, base_config(workdir) + placement_toml(
        workdir, {"hot": ["monitor", "parser"], "s0": ["scanner"], "s1": ["scanner"]},
        {"s0": ["scanner.shard=0/2"], "s1": ["scanner.shard=1/2"]}))
    assert deployment_problems(config) == []
    assert modules_of(config.deploy, "hot") == ["monitor", "parser"]
    overrides = process_overrides(config, "s1")
    assert overrides[0] == "scanner.shard=1/2" and "deploy.process=s1" in overrides
    assert f"control.socket_path={workdir / 'run' / 'bot-s1.sock'}" in overrides
    assert control_socket_for("run/mevbot.sock", "hot") == "run/mevbot-hot.sock"
    with pytest.raises(UnknownProcessError, match="'cold' is not a key of \\[deploy.processes\\] \\(have hot, s0, s1\\)"):
        modules_of(config.deploy, "cold")


@pytest.mark.parametrize("shards, problem", [
    ({"s0": ["scanner.shard=0/2"], "s1": ["scanner.shard=0/2"]}, "shard 0/2 is run by s0, s1"),
    ({"s0": ["scanner.shard=0/3"], "s1": ["scanner.shard=1/3"]}, "shard 2/3 is run by no process"),
    ({"s0": ["scanner.shard=0/2"], "s1": ["scanner.shard=1/3"]}, "disagree on the number of shards"),
    ({"s0": ["scanner.shard=2/2"], "s1": ["scanner.shard=1/2"]}, "'2/2': expected 'i/n' with 0 <= i < n"),
    ({"s0": ["scanner.shard=0/2"]}, "'scanner' is already placed in process 's0'"),
])
def test_scanner_shards_must_cover_every_cycle_exactly_once(workdir, shards, problem):
    config = config_from(workdir, base_config(workdir) + placement_toml(
        workdir, {"s0": ["scanner"], "s1": ["scanner"]}, shards))
    assert any(problem in p for p in deployment_problems(config)), deployment_problems(config)


def test_unknown_modules_hosts_and_duplicates_are_all_named(workdir):
    config = config_from(workdir, base_config(workdir) + """
[deploy.processes.a]
modules = ["monitor", "scannr"]
host = "elsewhere"
[deploy.processes.b]
modules = ["monitor"]
""")
    problems = "\n".join(deployment_problems(config))
    assert "unknown module 'scannr'" in problems
    assert "'elsewhere' is not a key of [deploy.hosts]" in problems
    assert "'monitor' is already placed in process 'a'" in problems


def test_this_host_is_the_named_one_the_only_one_or_the_one_owning_its_address():
    deploy = DeploySettings(hosts={"a": HostSettings("127.0.0.1"), "b": HostSettings("198.51.100.7")},
                            processes={"x": ProcessSettings("a", ["monitor"]), "y": ProcessSettings("b", ["store"])})
    assert this_host(deploy) == "a"  # 127.0.0.1 binds here; 198.51.100.7 (TEST-NET-2) is no address of ours
    assert this_host(deploy, "b") == "b"
    with pytest.raises(UnknownHostError, match="host 'c' is not a key"):
        this_host(deploy, "c")
    both_remote = DeploySettings(hosts={"a": HostSettings("198.51.100.7"), "b": HostSettings("198.51.100.8")},
                                 processes=deploy.processes)
    with pytest.raises(UnknownHostError, match="pass --host NAME"):
        this_host(both_remote)


def run_cli(workdir: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    return subprocess.run([*MEVBOT, *args, "--config", str(workdir / "config.toml")], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_peer_that_never_connects_is_named_and_the_process_exits_1(workdir):
    (workdir / "config.toml").write_text(base_config(workdir).replace("peer_timeout_s = 20.0", "peer_timeout_s = 1.5")
                                         + f'\n[store]\npath = "{workdir / "store.sqlite"}"\n'
                                         + placement_toml(workdir, {"a": ["store"], "ghost": ["monitor"]}))
    done = run_cli(workdir, "run", "--process", "a")
    assert done.returncode == 1, done.stderr
    assert "peer 'ghost' not connected yet (we dial unix" in done.stderr  # the log line while waiting
    assert f"mevbot run --process a: peer process unreachable after 1.5 s: 'ghost' (we dial unix " \
           f"{workdir / 'bus-ghost.sock'})" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_and_up_refuse_an_unknown_process_or_a_bad_placement_with_exit_2(workdir):
    (workdir / "config.toml").write_text(base_config(workdir) + placement_toml(workdir, {"a": ["store"]}))
    done = run_cli(workdir, "run", "--process", "b")
    assert done.returncode == 2 and "--process 'b' is not a key of [deploy.processes] (have a)" in done.stderr
    done = run_cli(workdir, "up", "--host", "mars")
    assert done.returncode == 2 and "host 'mars' is not a key of [deploy.hosts]" in done.stderr
    (workdir / "config.toml").write_text(base_config(workdir) + placement_toml(workdir, {"a": ["store", "nosuch"]}))
    for argv in (["run", "--process", "a"], ["up"], ["up", "--check"]):
        done = run_cli(workdir, *argv)
        assert done.returncode == 2 and "unknown module 'nosuch'" in done.stderr, (argv, done.stderr)
        assert "Traceback" not in done.stderr
    (workdir / "config.toml").write_text(base_config(workdir) + placement_toml(
        workdir, {"a": ["store"]}, {"a": ["scanner.max_hops=7"]}))
    for argv in (["run", "--process", "a"], ["up", "--check"]):
        done = run_cli(workdir, *argv)  # a process's own overrides must make a valid config too
        assert done.returncode == 2 and "scanner.max_hops" in done.stderr and "Traceback" not in done.stderr
    (workdir / "config.toml").write_text(base_config(workdir))
    done = run_cli(workdir, "up")
    assert done.returncode == 2 and "the config places no processes" in done.stderr


def test_plain_run_ignores_the_placement_and_links_to_no_peer(workdir):
    """`mevbot run` without --process stays monolithic: no listener, no dial, whatever [deploy] says."""
    from mevbot.control.client import send_command

    from .procs import Proc, status_of, wait_until

    (workdir / "config.toml").write_text(base_config(workdir) + f'\n[store]\npath = "{workdir / "s.sqlite"}"\n'
                                         + placement_toml(workdir, {"a": ["store"], "b": ["monitor"]}))
    bot = Proc(["run", "--config", str(workdir / "config.toml"), "--modules", "store"], workdir,
               {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, "bot.log")
    try:
        socket = workdir / "run" / "bot-{process}.sock"  # a plain run keeps the path as written
        # running modules: the bus started before them, and a placed one makes its links right then
        wait_until(lambda: [m["state"] for m in (status_of(socket) or {}).get("modules", [])] == ["running"],
                   20, "bot running its store", bot.log_text)
        routes = send_command(socket, "routes")["routes"]
        assert [r["transport"] for r in routes] == ["memory"]
        assert not (workdir / "bus-a.sock").exists() and "bus-b.sock" not in bot.log_text()
    finally:
        bot.kill()


def test_status_names_a_peer_that_is_lost_as_unreachable_and_clears_once_it_is_back(workdir):
    """Real processes: `mevbot run --process a` (store) and `--process b` (observability); b is
    killed with SIGKILL and started again, and a's health (`mevbot ctl status`) follows."""
    import signal
    import socket as sockets

    from .procs import Proc, status_of, wait_until

    def free_port() -> int:
        with sockets.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    b_overrides = ["observability.enabled=true", f"observability.metrics_port={free_port()}",
                   f"observability.dashboard_port={free_port()}"]
    (workdir / "config.toml").write_text(base_config(workdir) + f'\n[store]\npath = "{workdir / "s.sqlite"}"\n'
                                         + placement_toml(workdir, {"a": ["store"], "b": ["observability"]},
                                                          {"b": b_overrides}))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    config = str(workdir / "config.toml")
    a_socket = workdir / "run" / "bot-a.sock"

    def health() -> dict:
        return (status_of(a_socket) or {}).get("health") or {}

    a = Proc(["run", "--config", config, "--process", "a"], workdir, env, "a.log")
    b = Proc(["run", "--config", config, "--process", "b"], workdir, env, "b.log")
    try:
        wait_until(lambda: health().get("state") == "ok", 30, "a healthy with b connected", a.log_text)
        assert health()["reason"] == "all 1 modules ok"
        b.signal(signal.SIGKILL)
        b.wait(10)
        lost = f"peer 'b' unreachable: disconnected (we dial unix {workdir / 'bus-b.sock'})"
        wait_until(lambda: lost in health().get("reason", ""), 20, "a's status naming b", a.log_text)
        assert health()["state"] == "degraded"
        shown = subprocess.run([*MEVBOT, "ctl", "--socket", str(a_socket), "status"], cwd=workdir, env=env,
                               capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0 and f"bot: degraded (peers degraded ({lost}))" in shown.stdout, shown.stdout
        b.kill()
        b = Proc(["run", "--config", config, "--process", "b"], workdir, env, "b2.log")
        wait_until(lambda: health().get("state") == "ok", 30, "a healthy again with b back", a.log_text)
        assert "peer" not in health()["reason"]
    finally:
        b.kill()
        a.kill()
