"""`mevbot record` refusing to start: bad arguments exit 2, no chain or no manifest exit 1, each said plainly."""

from __future__ import annotations

import json
import socket

import pytest

from tests.fixtures.botconfig import devnet_environ
from tests.replay.session import mevbot

pytestmark = pytest.mark.devnet


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_bad_arguments_exit_2(tmp_path):
    (tmp_path / "config.toml").write_text("")
    done = mevbot("record", "--duration", "-1", str(tmp_path / "x.rec"), cwd=tmp_path)
    assert done.returncode == 2 and "--duration must be a positive number" in done.stderr
    done = mevbot("record", "--sender", "0x1234", str(tmp_path / "x.rec"), cwd=tmp_path)
    assert done.returncode == 2 and "--sender" in done.stderr
    assert not (tmp_path / "x.rec").exists()


def test_no_chain_or_no_manifest_exit_1_naming_what_is_missing(devnet, tmp_path):
    (tmp_path / "config.toml").write_text("")
    env = devnet_environ(devnet, tmp_path)
    dead = {**env, "MEVBOT__RPC__HTTP_URLS": json.dumps([f"http://127.0.0.1:{_closed_port()}"]),
            "MEVBOT__RPC__RETRIES": "0"}
    done = mevbot("record", "--duration", "1", str(tmp_path / "x.rec"), cwd=tmp_path, env=dead)
    assert done.returncode == 1 and "cannot read the start state" in done.stderr, done.stderr
    missing = {**env, "MEVBOT__PARSER__MANIFEST": str(tmp_path / "absent.json")}
    done = mevbot("record", "--duration", "1", str(tmp_path / "x.rec"), cwd=tmp_path, env=missing)
    assert done.returncode == 1 and "absent.json" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.rec").exists()
