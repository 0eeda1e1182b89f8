"""A feed reorg in a recording is replayed as the bot handles it live: the monitor reports it,
the parser passes it on, the pipeline drops the replaced intents; and the replay stays
byte-identical from run to run.

The reorg is made from the real devnet recording: the message that carried the price-gap swap
is re-sent, right after it, with another block hash and no transactions (as a sequencer that
replaced that block would).
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from mevbot.feed.codec import decode_broadcast, encode_broadcast, encode_l2_batch, split_l2_batch
from mevbot.feed.messages import BroadcastMessage
from tests.replay.session import mevbot

pytestmark = pytest.mark.devnet


def with_reorg(path: Path, out: Path, tx_hash: str) -> None:
    """Copy ``path`` with the message carrying ``tx_hash`` re-sent empty under another hash."""
    from eth_utils import keccak

    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for i, record in enumerate(records):
        if record["record"] != "frame" or "text" not in record:
            continue
        frame = decode_broadcast(record["text"])
        for message in frame.messages:
            payloads = [s.payload for s in split_l2_batch(message.message.message.l2_msg)]
            if any("0x" + keccak(p).hex() == tx_hash for p in payloads):
                empty = attrs.evolve(message, block_hash=bytes(32), signature=None, message=attrs.evolve(
                    message.message, message=attrs.evolve(message.message.message, l2_msg=encode_l2_batch([]))))
                resent = {**record, "text": encode_broadcast(BroadcastMessage(version=1, messages=[empty])).decode()}
                break
        else:
            continue
        n = record["n"]
        for later in records[i + 1:]:
            if later["record"] == "frame":
                later["n"] += 1
            elif later["record"] == "end":
                later["frames"] += 1
        records.insert(i + 1, {**resent, "n": n + 1})
        out.write_text("".join(json.dumps(r) + "\n" for r in records))
        return
    raise AssertionError(f"no recorded frame carries {tx_hash}")


def test_a_recorded_reorg_is_replayed_through_the_pipeline_and_stays_deterministic(recorded, tmp_path):
    work, path, env, gap_tx = recorded
    reorged = tmp_path / "reorg.rec"
    with_reorg(path, reorged, gap_tx)
    outputs = []
    for run in range(2):
        out = tmp_path / f"decisions-{run}.jsonl"
        done = mevbot("replay", str(reorged), "--out", str(out), cwd=work, env=env)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0].decode().splitlines()[-1])["payload"]
    assert summary["reorgs"] == 1
