"""`mevbot devnet` as a user runs it: real subprocesses, real ports, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def mevbot(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mevbot", "devnet", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("command", ["up", "down", "status", "traffic"])
def test_every_subcommand_explains_itself_with_help(command):
    result = mevbot(command, "--help")
    assert result.returncode == 0
    assert "--home" in result.stdout and "--manifest" in result.stdout


def test_status_says_nothing_runs_under_an_empty_home(tmp_path):
    result = mevbot("status", "--home", str(tmp_path))
    assert result.returncode == 3
    assert "no devnet is running" in result.stdout


def test_up_without_node_fails_with_a_clear_message(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty PATH: neither node nor npm is found
    result = mevbot("up", "--home", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "node is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_traffic_without_a_manifest_names_the_missing_file(tmp_path):
    result = mevbot("traffic", "--manifest", str(tmp_path / "none.json"), "--count", "1")
    assert result.returncode == 1
    assert "no devnet manifest" in result.stderr


@pytest.mark.devnet
@pytest.mark.slow
def test_up_runs_in_the_background_until_down(tmp_path, devnet):  # devnet: the saved state exists
    config = tmp_path / "config.toml"
    config.write_text("")
    common = ["--config", str(config), "--home", str(tmp_path / "home")]
    up = mevbot("up", *common, "--manifest", str(tmp_path / "m.json"), "--rpc-port", "0", "--feed-port", "0",
                "--cache-dir", str(REPO_ROOT / ".devnet" / "cache"))
    try:
        assert up.returncode == 0, up.stderr
        manifest = json.loads((tmp_path / "m.json").read_text())
        status = mevbot("status", *common, "--json")
        assert status.returncode == 0
        reported = json.loads(status.stdout)
        assert reported["running"] and reported["chain_id"] == 42161
        assert reported["rpc_url"] == manifest["rpc_url"] and reported["feed_url"] == manifest["feed_url"]
        assert "already running" in mevbot("up", *common).stdout
    finally:
        down = mevbot("down", *common)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert mevbot("status", *common).returncode == 3
