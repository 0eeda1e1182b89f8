"""`mevbot record` on the devnet with live noise traffic and a price gap, then `mevbot replay`.

Two replays of one recording, in separate processes with different hash seeds, one of them
while the machine is busy, write byte-identical decisions, and the decisions are not trivial:
the gap shows up as opportunities, risk decisions and the transaction execution would send.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mevbot.replay.recording import read_recording
from tests.replay.session import mevbot

pytestmark = pytest.mark.devnet


def test_a_recording_holds_the_start_state_and_the_frames_with_the_live_swaps(recorded, devnet):
    _, path, _, gap_tx = recorded
    recording = read_recording(path)
    assert recording.header.chain_id == devnet.chain_id
    # the gap trader's nonce at the start: the gap swap is the transaction that used it
    gap = devnet.rpc.call("eth_getTransactionByHash", gap_tx)
    assert recording.header.sender_nonce == int(gap["nonce"], 16)
    assert {p.address for p in recording.pools} == {p["address"].lower() for p in devnet.manifest["pools"]}
    assert recording.frames and all(b.received_ns >= a.received_ns
                                    for a, b in zip(recording.frames, recording.frames[1:]))
    assert recording.ended_at_ns >= recording.frames[-1].received_ns
    # the monitor's chain side too: every head after the start block, and the gap's pool logs
    from mevbot.rpc.chaindata import BlockHead, BlockLogs

    chain = [e.payload for e in recording.events if hasattr(e, "payload")]
    heads = [p.number for p in chain if isinstance(p, BlockHead)]
    assert heads == list(range(recording.header.block_number + 1, recording.header.block_number + 1 + len(heads)))
    logged = {entry.transaction_hash for p in chain if isinstance(p, BlockLogs)
              for entry in p.logs}
    assert gap_tx.lower() in logged
    # the gap swap's raw transaction is in a recorded frame
    raw = devnet.rpc.call("eth_getRawTransactionByHash", gap_tx)
    from mevbot.feed.blocks import decode_block
    from mevbot.feed.codec import decode_broadcast

    hashes = {tx.hash_hex for f in recording.frames for m in decode_broadcast(f.frame).messages
              for tx in decode_block(m).transactions}
    receipt = devnet.rpc.call("eth_getTransactionReceipt", gap_tx)
    assert gap_tx.lower() in {h.lower() for h in hashes}, (receipt["blockNumber"], recording.header.block_number, recording.frames[-1].frame[:200])


def _replay(work: Path, path: Path, env: dict, out: Path, *, hash_seed: str) -> None:
    done = mevbot("replay", str(path), "--out", str(out), cwd=work, env={**env, "PYTHONHASHSEED": hash_seed})
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_two_replays_write_byte_identical_non_trivial_decisions(recorded):
    work, path, env, gap_tx = recorded
    first, second = work / "first.jsonl", work / "second.jsonl"
    _replay(work, path, env, first, hash_seed="1")
    _replay(work, path, env, second, hash_seed="2")
    assert first.read_bytes() == second.read_bytes()
    records = [json.loads(line) for line in first.read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert kinds[0] == "replay" and kinds[-1] == "summary"
    opportunities = [r for r in records if r["kind"] == "opportunity"]
    decisions = [r for r in records if r["kind"] == "risk_decision"]
    assert opportunities and len(decisions) == len(opportunities)
    assert any(o["payload"]["trigger_tx"] == gap_tx.lower() for o in opportunities)
    # opportunities an intent caused come in feed order (the others came from a block's logs)
    positions = [(o["payload"]["seq"], o["payload"]["tx_index"]) for o in opportunities
                 if o["payload"]["seq"] is not None]
    assert positions and positions == sorted(positions)
    assert all(o["trace"] == o["payload"]["seq"] for o in opportunities)
    summary = records[-1]["payload"]
    assert summary["intents"] >= 2 and summary["opportunities"] == len(opportunities)
    assert summary["heads"] > 0 and summary["updates_applied"] > 0 and summary["intents_reconciled"] > 0
    sends = [r for r in records if r["kind"] == "would_send"]
    assert len(sends) == summary["approved"] > 0
    start_nonce = read_recording(path).header.sender_nonce
    assert [s["payload"]["nonce"] for s in sends] == list(range(start_nonce, start_nonce + len(sends)))
    for send in sends:
        tx = send["payload"]
        assert tx["data"].startswith("0x") and tx["gas"] > 0 and tx["chain_id"] == 42161


def test_a_replay_on_a_busy_machine_writes_the_same_decisions(recorded):
    work, path, env, _ = recorded
    quiet, busy = work / "quiet.jsonl", work / "busy.jsonl"
    _replay(work, path, env, quiet, hash_seed="3")
    # two CPU-bound processes on this 2-core machine: the replay competes for every slice
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        _replay(work, path, env, busy, hash_seed="4")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert quiet.read_bytes() == busy.read_bytes()
