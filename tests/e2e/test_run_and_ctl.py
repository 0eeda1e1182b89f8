"""`mevbot run` and `mevbot ctl` as real processes talking over the real control socket."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.fixtures.botconfig import devnet_environ

MEVBOT = str(Path(sys.executable).parent / "mevbot")
REPO_CACHE = Path(__file__).resolve().parents[2] / ".devnet" / "cache"  # the devnet fixture's
MODULES = ["monitor", "parser", "pipeline", "scanner", "risk", "execution", "store"]


def clean_env(workdir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    if workdir is not None:
        env.update(devnet_environ(_DEVNET, workdir))
    return env


@pytest.fixture
def workdir():
    # Short paths: a Unix socket path must fit in 107 bytes, which tmp_path may not.
    with tempfile.TemporaryDirectory(prefix="mbe2e") as name:
        yield Path(name)


_DEVNET = None


@pytest.fixture(autouse=True)
def _on_the_devnet(devnet):
    """Every bot process in these tests runs its real modules against the test devnet."""
    global _DEVNET
    _DEVNET = devnet


def write_config(workdir: Path, extra: str = "", *, watch: bool = False, log_format: str = "text",
                 log_level: str = "INFO") -> Path:
    path = workdir / "config.toml"
    path.write_text(f"""
[log]
format = "{log_format}"
level = "{log_level}"

[runtime]
watch_config = {"true" if watch else "false"}
watch_interval_s = 0.1
shutdown_deadline_s = 5.0

[control]
socket_path = "{workdir / 'run' / 'bot.sock'}"
{extra}
""")
    return path


class BotProcess:
    def __init__(self, workdir: Path, config: Path, *args: str) -> None:
        self.socket = workdir / "run" / "bot.sock"
        self.log_path = workdir / "bot.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([MEVBOT, "run", "--config", str(config), *args], cwd=workdir,
                                     env=clean_env(workdir), stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        """Poll until the socket answers a status request (the bot binds it before the modules start)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"bot exited early:\n{self.log_text()}"
            if self.socket.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.settimeout(2)
                        s.connect(str(self.socket))
                        s.sendall(b'{"cmd": "status"}\n')
                        reply = json.loads(s.makefile("rb").readline())
                    if all(m["state"] == "running" for m in reply["modules"]):
                        return
                except (OSError, ValueError):
                    pass
            time.sleep(0.05)
        raise AssertionError(f"bot not ready within {timeout_s}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, signum: int = signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.log.closed:
            self.log.close()


def ctl(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEVBOT, "ctl", "--config", str(workdir / "config.toml"), *args], cwd=workdir,
                          env=clean_env(), capture_output=True, text=True, timeout=20)


def ctl_json(workdir: Path, *args: str) -> dict:
    done = ctl(workdir, "--json", *args)
    return json.loads(done.stdout)


def states(workdir: Path) -> dict[str, str]:
    reply = json.loads(ctl(workdir, "modules", "--json").stdout)  # --json after the command works too
    return {m["name"]: m["state"] for m in reply["modules"]}


@pytest.fixture
def bot(workdir):
    config = write_config(workdir)
    process = BotProcess(workdir, config)
    yield process
    process.kill()


def test_bot_process_answers_ctl_reloads_and_exits_0_on_sigterm(workdir, bot):
    bot.wait_ready()
    assert stat.S_IMODE(bot.socket.stat().st_mode) == 0o600

    status = ctl(workdir, "status")
    assert status.returncode == 0, status.stderr
    assert "all 7 modules ok" in status.stdout
    table = ctl(workdir, "modules").stdout
    assert all(f"\n{name} " in table for name in MODULES)

    paused = ctl(workdir, "pause", "scanner")
    assert paused.returncode == 0 and "scanner: paused" in paused.stdout
    assert states(workdir)["scanner"] == "paused"
    assert ctl(workdir, "resume", "scanner").returncode == 0
    assert states(workdir)["scanner"] == "running"

    refused = ctl(workdir, "pause", "nosuchmodule")
    assert refused.returncode == 1 and "unknown module 'nosuchmodule'" in refused.stderr

    stopped = ctl(workdir, "emergency-stop")
    assert stopped.returncode == 0 and "execution" in stopped.stdout
    assert states(workdir)["execution"] == "paused"
    assert ctl(workdir, "resume", "execution").returncode == 1  # refused while the stop is active
    assert ctl(workdir, "clear-stop").returncode == 0
    assert states(workdir)["execution"] == "running"

    # a valid, reloadable change goes live
    write_config(workdir, "[scanner]\nmin_profit_wei = 5\n")
    reloaded = ctl(workdir, "reload")
    assert reloaded.returncode == 0, reloaded.stderr
    assert "applied: scanner.min_profit_wei" in reloaded.stdout
    assert ctl_json(workdir, "config")["config"]["scanner"]["min_profit_wei"] == 5

    # an invalid file is rejected with its problems; the running config stays
    write_config(workdir, '[scanner]\nmin_profit_wei = "lots"\n')
    rejected = ctl(workdir, "reload")
    assert rejected.returncode == 1
    assert "scanner.min_profit_wei" in rejected.stderr and "stays in force" in rejected.stderr
    assert ctl_json(workdir, "config")["config"]["scanner"]["min_profit_wei"] == 5
    assert "scanner.min_profit_wei" in bot.log_text()  # and the errors are logged

    # a non-reloadable change is reported as needing a restart and not applied
    write_config(workdir, "[scanner]\nmin_profit_wei = 5\nmax_hops = 2\n")
    needs_restart = ctl(workdir, "reload")
    assert needs_restart.returncode == 0
    assert "needs a restart to apply: scanner.max_hops" in needs_restart.stdout
    assert ctl_json(workdir, "config")["config"]["scanner"]["max_hops"] == 3

    assert bot.terminate() == 0
    assert not bot.socket.exists()
    log = bot.log_text()
    assert log.index("module store stopped") < log.index("module execution stopped") < log.index("module monitor stopped")


def test_ctl_with_no_bot_exits_1_with_a_clear_message(workdir):
    write_config(workdir)
    done = ctl(workdir, "status")
    assert done.returncode == 1
    assert "no bot is listening on" in done.stderr and "bot.sock" in done.stderr


def test_stale_socket_is_replaced_and_a_second_bot_on_a_live_socket_exits_1(workdir):
    config = write_config(workdir)
    (workdir / "run").mkdir()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(workdir / "run" / "bot.sock"))  # what a killed bot leaves behind
    stale.close()
    first = BotProcess(workdir, config)
    try:
        first.wait_ready()
        second = subprocess.run([MEVBOT, "run", "--config", str(config)], cwd=workdir, env=clean_env(),
                                capture_output=True, text=True, timeout=20)
        assert second.returncode == 1
        assert "already listening" in second.stderr and "Traceback" not in second.stderr
        assert ctl(workdir, "status").returncode == 0  # the first bot is untouched
        assert first.terminate(signal.SIGINT) == 0  # Ctrl-C is a clean shutdown too
    finally:
        first.kill()


def test_invalid_config_exits_2_listing_every_problem(workdir):
    config = write_config(workdir, '[scanner]\nmax_hops = "two"\n[rpc]\ntimeout_s = "soon"\n')
    done = subprocess.run([MEVBOT, "run", "--config", str(config)], cwd=workdir, env=clean_env(),
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 2
    assert "scanner.max_hops" in done.stderr and "rpc.timeout_s" in done.stderr


def test_saved_config_file_is_reloaded_live_and_json_logs_name_their_module(workdir):
    config = write_config(workdir, watch=True, log_format="json")
    bot = BotProcess(workdir, config)
    try:
        bot.wait_ready()
        write_config(workdir, watch=True, log_format="json", log_level="DEBUG")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "config applied live: log.level" not in bot.log_text():
            time.sleep(0.05)
        assert ctl_json(workdir, "config")["config"]["log"]["level"] == "DEBUG"
        assert bot.terminate() == 0
        records = [json.loads(line) for line in bot.log_text().splitlines() if line.startswith("{")]
        assert {"monitor", "scanner", "store"} <= {r["module"] for r in records}
        assert any(r["module"] == "scanner" and r["msg"] == "module scanner ready" for r in records)
    finally:
        bot.kill()


def test_run_with_a_module_missing_its_dependency_exits_2_naming_both(workdir):
    config = write_config(workdir)
    done = subprocess.run([MEVBOT, "run", "--config", str(config), "--modules", "scanner,store"], cwd=workdir,
                          env=clean_env(), capture_output=True, text=True, timeout=20)
    assert done.returncode == 2 and "scanner needs pipeline" in done.stderr


def test_demo_shows_the_bot_trading_live_and_exits_0_after_its_duration(workdir):
    """The demo's own in-process devnet from the saved chain state (the fixture's cache: no deploy)."""
    from tests.e2e.test_demo import demo_config, port_is_closed

    config = demo_config(workdir)
    done = subprocess.run([MEVBOT, "demo", "--config", str(config), "--duration", "3",
                           "--cache-dir", str(REPO_CACHE)], cwd=workdir, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "starting the devnet" in done.stdout  # its own devnet, not the fixture's
    frames = done.stdout.split("mevbot demo  t=")[1:]
    assert len(frames) >= 4  # refreshed about every second, plus the final frame
    first = frames[0]
    assert "bot ok: all 7 modules ok" in first
    assert "MODULE" in first and all(f"\n{name} " in first and f"{name} running" in " ".join(first.split())
                                     for name in MODULES)
    assert re.search(r"feed \d+ msgs", first) and "opportunities " in first and "executed " in first
    assert re.search(r"realised profit -?\d+\.\d{6} WETH \(executor 0x[0-9a-fA-F]{40} balance\)", frames[-1])
    assert int(re.search(r"feed (\d+) msgs", frames[-1]).group(1)) > 0  # the relay's blocks reached the bot
    assert re.search(r"^profit -?\d+\.\d{6} WETH from \d+ executed arbitrages$", done.stdout, re.M)
    manifest = json.loads((workdir / ".devnet" / "manifest.json").read_text())
    assert port_is_closed(manifest["rpc_url"])  # its anvil stopped with it
