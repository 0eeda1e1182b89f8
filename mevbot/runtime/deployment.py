"""The deployment a bot trades on: its manifest (contracts, tokens, pools) and pool registry.

The manifest is the JSON `mevbot devnet up` writes (or one written by hand for a real chain);
config points at it with ``[parser] manifest``. Modules in one process share one loaded copy.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> dict[str, Any]:
    from mevbot.devnet.manifest import read_manifest

    return read_manifest(path)


def load_manifest(config: Any) -> dict[str, Any]:
    """The manifest named by ``[parser] manifest``; re-read when the file changes."""
    path = str(Path(config.parser.manifest))
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError:
        mtime = 0
    return _load(path, mtime)


def load_registry(config: Any):
    from mevbot.pools.registry import PoolRegistry

    return PoolRegistry.from_manifest(load_manifest(config))


def weth_of(manifest: dict[str, Any]) -> str | None:
    contracts = manifest.get("contracts") or {}
    weth = contracts.get("weth9") or contracts.get("weth")
    return weth.lower() if isinstance(weth, str) else None


def feed_genesis_block(manifest: dict[str, Any]) -> int:
    """The L2 block number of feed sequence number 0 (``feed.sequence_number_offset``; 0 on
    chains born on Nitro and on the devnet, 22207817 on Arbitrum One)."""
    return int((manifest.get("feed") or {}).get("sequence_number_offset", 0))
