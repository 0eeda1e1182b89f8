"""The recording every replay test shares: 5 s of devnet feed with noise traffic and a price gap."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from mevbot.devnet.traders import TrafficOptions, run_traffic
from tests.fixtures.botconfig import devnet_environ
from tests.replay.session import GAP_TRADER, mevbot_env, open_gap

RECORD_S = 5.0


def _wait_for_first_frame(path: Path, process: subprocess.Popen, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if path.exists() and '"record":"frame"' in path.read_text():
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)  # polling the recorder's file (another process): no event to wait on
    pytest.fail(f"{path} got no frame within {deadline_s} s")


@pytest.fixture(scope="session")
def recorded(devnet, tmp_path_factory):
    """(workdir, recording path, environment, gap tx hash): 5 s of devnet feed with traffic and a gap."""
    work = tmp_path_factory.mktemp("record")
    (work / "config.toml").write_text("")
    env = devnet_environ(devnet, work)
    path = work / "session.rec"
    sender = devnet.account(GAP_TRADER).address  # its pending nonce is where would-send nonces start
    recorder = subprocess.Popen([sys.executable, "-m", "mevbot", "record", "--duration", str(RECORD_S),
                                 "--sender", sender, str(path)],
                                cwd=work, env=mevbot_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    try:
        _wait_for_first_frame(path, recorder)
        # the seeded noise traders, in this process (no interpreter start-up eating the window);
        # run_traffic returns once every trade has its receipt
        stats = trio.run(run_traffic, devnet.manifest, TrafficOptions(rate_per_s=8, seed=3, count=4))
        assert stats.succeeded >= 2, stats
        gap_tx = open_gap(devnet)
        out, err = recorder.communicate(timeout=60)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert recorder.returncode == 0, err
    assert "recorded" in err
    gap_block = int(devnet.rpc.call("eth_getTransactionReceipt", gap_tx)["blockNumber"], 16)
    last = max(json.loads(line).get("number", 0) for line in path.read_text().splitlines()
               if '"record":"head"' in line)
    assert gap_block <= last, f"the gap landed in block {gap_block}, after the recording's last head {last}"
    return work, path, env, gap_tx


