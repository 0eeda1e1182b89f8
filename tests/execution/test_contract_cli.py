"""`mevbot contract build` and `deploy` as real processes, deploying to the devnet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_utils import keccak

MEVBOT = str(Path(sys.executable).parent / "mevbot")
pytestmark = pytest.mark.devnet


def test_deploy_with_a_devnet_key_prints_an_executor_owned_by_that_key(devnet, tmp_path):
    account = devnet.account(3)
    contracts = devnet.manifest["contracts"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    env["MEVBOT_DEVNET_KEY"] = account.key.hex()
    env["MEVBOT__RPC__HTTP_URLS"] = json.dumps([devnet.rpc_url])
    (tmp_path / "config.toml").write_text("")
    done = subprocess.run([MEVBOT, "contract", "deploy", "--yes", "--config", str(tmp_path / "config.toml"),
                           "--v2-factory", contracts["uniswap_v2"]["factory"],
                           "--v3-factory", contracts["uniswap_v3"]["factory"]],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    address = done.stdout.strip().splitlines()[-1]
    assert devnet.rpc.call("eth_getCode", address, "latest") not in ("0x", None)
    owner = devnet.call(address, keccak(text="owner()")[:4])
    assert owner[-20:].hex() == account.address[2:].lower()
    assert account.key.hex().removeprefix("0x") not in done.stdout + done.stderr


def test_deploy_to_a_dead_endpoint_fails_with_a_clear_error_and_no_key_shown(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT")}
    env["MEVBOT_DEVNET_KEY"] = "0x" + "11" * 32
    (tmp_path / "config.toml").write_text('[rpc]\nhttp_urls = ["http://127.0.0.1:9"]\n')
    done = subprocess.run([MEVBOT, "contract", "deploy", "--yes", "--config", str(tmp_path / "config.toml"),
                           "--v2-factory", "0x" + "22" * 20], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "127.0.0.1:9" in done.stderr
    assert "11" * 32 not in done.stdout + done.stderr
