"""The devnet manifest: where the chain, its contracts, tokens and pools are (JSON).

``devnet up`` writes it and config.toml points at it (``[devnet] manifest``); the bot, the demo
and the tests read it instead of hardcoding addresses. Keys always present: ``chain_id``,
``rpc_url``, ``ws_url``, ``feed_url``, ``feed`` (sequence-number mapping, sender, signer),
``contracts`` (per DEX), ``tokens`` (address, symbol, decimals) and ``pools`` (DEX, address,
token0/token1, symbols, fee in hundredths of a bip, tick spacing for V3), ``accounts``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mevbot.devnet.errors import ManifestError
from mevbot.devnet.relay import SEQUENCE_NUMBER_OFFSET, feed_signer_address
from mevbot.feed.messages import SEQUENCER_SENDER

REQUIRED_KEYS = ("chain_id", "rpc_url", "ws_url", "feed_url", "contracts", "tokens", "pools")


def build_manifest(*, chain_id: int, rpc_url: str, ws_url: str, feed_url: str, block_time_ms: int,
                   feed_signed: bool, state_key: str, deployment: dict[str, Any]) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "rpc_url": rpc_url,
        "ws_url": ws_url,
        "feed_url": feed_url,
        "block_time_ms": block_time_ms,
        "feed": {
            "sequence_number_offset": SEQUENCE_NUMBER_OFFSET,
            "mapping": "L2 block number = sequence number + sequence_number_offset",
            "sender": "0x" + SEQUENCER_SENDER.hex(),
            "signer": feed_signer_address() if feed_signed else None,
        },
        "state_key": state_key,
        **deployment,
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, path)


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise ManifestError(f"no devnet manifest at {path}; start the devnet with `mevbot devnet up`") from exc
    except (OSError, ValueError) as exc:
        raise ManifestError(f"devnet manifest {path} is unreadable: {exc}") from exc
    missing = [key for key in REQUIRED_KEYS if key not in manifest] if isinstance(manifest, dict) else list(REQUIRED_KEYS)
    if missing:
        raise ManifestError(f"devnet manifest {path} lacks {', '.join(missing)}")
    return manifest


def token_by_symbol(manifest: dict[str, Any], symbol: str) -> dict[str, Any]:
    for token in manifest["tokens"]:
        if token["symbol"] == symbol:
            return token
    raise ManifestError(f"devnet manifest has no token {symbol!r}")
