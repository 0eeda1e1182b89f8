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


def test_no_chain_no_feed_or_no_manifest_exit_1_naming_what_is_missing(devnet, tmp_path):
    (tmp_path / "config.toml").write_text("")
    env = devnet_environ(devnet, tmp_path)
    dead = {**env, "MEVBOT__RPC__HTTP_URLS": json.dumps([f"http://127.0.0.1:{_closed_port()}"]),
            "MEVBOT__RPC__RETRIES": "0"}
    done = mevbot("record", "--duration", "1", str(tmp_path / "x.rec"), cwd=tmp_path, env=dead)
    assert done.returncode == 1 and "cannot read the start state" in done.stderr, done.stderr
    silent = {**env, "MEVBOT__MONITOR__FEED_URLS": json.dumps([f"ws://127.0.0.1:{_closed_port()}/feed"])}
    done = mevbot("record", "--duration", "1", str(tmp_path / "silent.rec"), cwd=tmp_path, env=silent)
    assert done.returncode == 1 and "no frame came from ws://127.0.0.1:" in done.stderr, done.stderr
    missing = {**env, "MEVBOT__PARSER__MANIFEST": str(tmp_path / "absent.json")}
    done = mevbot("record", "--duration", "1", str(tmp_path / "x.rec"), cwd=tmp_path, env=missing)
    assert done.returncode == 1 and "absent.json" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "x.rec").exists()


def test_ctrl_c_ends_a_recording_without_duration_and_leaves_a_complete_file(devnet, tmp_path):
    import signal
    import subprocess
    import sys

    from mevbot.replay.recording import read_recording
    from tests.replay.conftest import _wait_for_first_frame
    from tests.replay.session import mevbot_env

    (tmp_path / "config.toml").write_text("")
    path = tmp_path / "open-ended.rec"
    recorder = subprocess.Popen([sys.executable, "-m", "mevbot", "record", str(path)], cwd=tmp_path,
                                env=mevbot_env(devnet_environ(devnet, tmp_path)), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_first_frame(path, recorder)
        recorder.send_signal(signal.SIGINT)
        _, err = recorder.communicate(timeout=30)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert recorder.returncode == 0 and "stopped by a signal (Ctrl-C); the recording is complete" in err, err
    assert read_recording(path).frames
