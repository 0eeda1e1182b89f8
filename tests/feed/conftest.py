"""The real captured frames (shared/feed-samples) as fixtures for every feed test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "feed-samples"
if not SAMPLES.is_dir():  # CI clones main with shared/ beside it
    SAMPLES = Path("/work/shared/feed-samples")

FRAMES_PATH = SAMPLES / "rh-frames.jsonl"
VERIFIED_PATH = SAMPLES / "rh-verified.json"
EXPECTED_PATH = SAMPLES / "expected-tx-hashes.jsonl"
SAMPLE_CHAIN_ID = 4663
SAMPLE_SIGNER = "0xDaa526086787d9DEbE1D7F3FFdb1fE50cf8687F4"


@pytest.fixture(scope="session")
def frame_lines() -> list[bytes]:
    return [line for line in FRAMES_PATH.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def verified_message_json() -> dict:
    return json.loads(VERIFIED_PATH.read_text())


@pytest.fixture(scope="session")
def expected_txs() -> list[dict]:
    return [json.loads(line) for line in EXPECTED_PATH.read_text().splitlines() if line.strip()]
