"""`mevbot feed decode|watch` as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import trio
from eth_account import Account

from .conftest import EXPECTED_PATH, FRAMES_PATH, SAMPLE_CHAIN_ID, SAMPLE_SIGNER, VERIFIED_PATH
from .feed_server import SampleFeedServer

MEVBOT = str(Path(sys.executable).with_name("mevbot"))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([MEVBOT, "feed", *args], capture_output=True, text=True, timeout=60)


def test_decode_prints_every_expected_transaction_as_a_json_line(expected_txs):
    result = _run("decode", str(FRAMES_PATH), str(VERIFIED_PATH), "--chain-id", str(SAMPLE_CHAIN_ID))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [{k: r[k] for k in ("seq", "index", "type", "hash")} for r in records] == expected_txs
    assert all(set(r) == {"seq", "index", "type", "hash", "to", "selector"} for r in records)
    assert EXPECTED_PATH.exists()


def test_decode_with_senders_and_signature_checks_matches_eth_account(frame_lines):
    result = _run("decode", str(FRAMES_PATH), "--senders", "--chain-id", str(SAMPLE_CHAIN_ID),
                  "--verify-signer", SAMPLE_SIGNER)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    from mevbot.feed.codec import decode_broadcast, split_l2_batch

    raws = [s.payload for line in frame_lines for m in decode_broadcast(line).messages
            for s in split_l2_batch(m.message.message.l2_msg)]
    assert [r["sender"] for r in records] == [Account.recover_transaction(raw) for raw in raws]


def test_a_malformed_line_prints_an_error_naming_it_and_decoding_goes_on(tmp_path, frame_lines):
    capture = tmp_path / "capture.jsonl"
    capture.write_bytes(frame_lines[0] + b"\n" + b'{"version":1,"messages":[{"sequenceNumber":true}]}\n' + frame_lines[1] + b"\n")
    result = _run("decode", str(capture))
    assert result.returncode == 1
    seqs = {json.loads(line)["seq"] for line in result.stdout.splitlines()}
    assert seqs == {20543495, 20543496}
    (error,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert error["frame"] == f"{capture}:2" and "sequenceNumber" in error["error"]


def test_a_message_from_another_signer_is_reported_and_skipped(tmp_path, frame_lines):
    doc = json.loads(frame_lines[0])
    doc["messages"][0]["message"]["message"]["header"]["timestamp"] += 1
    capture = tmp_path / "tampered.jsonl"
    capture.write_text(json.dumps(doc) + "\n" + frame_lines[1].decode() + "\n")
    result = _run("decode", str(capture), "--chain-id", str(SAMPLE_CHAIN_ID), "--verify-signer", SAMPLE_SIGNER)
    assert result.returncode == 1
    assert {json.loads(line)["seq"] for line in result.stdout.splitlines()} == {20543496}
    assert "not a configured signer" in result.stderr and f"{capture}:1" in result.stderr


def test_decode_of_a_missing_file_names_it():
    result = _run("decode", "/nonexistent/frames.jsonl")
    assert result.returncode == 1 and "/nonexistent/frames.jsonl" in result.stderr


async def test_watch_prints_live_transactions(nursery, frame_lines):
    server = SampleFeedServer([line.decode() for line in frame_lines])
    await server.start(nursery)
    with trio.fail_after(60):
        result = await trio.run_process([MEVBOT, "feed", "watch", server.url, "--count", "2", "--senders", "--stats"],
                                        capture_stdout=True, capture_stderr=True)
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert {r["seq"] for r in records} == {20543495, 20543496}
    assert all(r["sender"].startswith("0x") and r["hash"].startswith("0x") for r in records)
    (stats,) = [json.loads(line)["stats"] for line in result.stderr.decode().splitlines() if line.startswith('{"stats"')]
    assert stats["feeds"][0]["url"] == server.url and stats["feeds"][0]["wins"] >= 2
