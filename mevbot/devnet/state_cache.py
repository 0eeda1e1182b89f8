"""Deploy once, then reuse: the saved anvil state, keyed by everything that shapes it.

The key hashes package-lock.json (anvil, artifact and solc versions), the deploy code and our
Solidity sources, and the chain id; a change to any of them deploys afresh. A file lock makes
concurrent callers (two test sessions, `devnet up` during a test run) build it once and share it.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import attrs

from mevbot.devnet.anvil import AnvilProcess, anvil_argv
from mevbot.devnet.deploy import deploy_all
from mevbot.devnet.jsonrpc import SyncChainRpc
from mevbot.devnet.toolchain import REPO_ROOT

log = logging.getLogger(__name__)

_DEPLOY_SOURCES = ("abi.py", "accounts.py", "artifacts.py", "chain.py", "deploy.py", "market.py", "anvil.py",
                   "state_cache.py", "solc_compile.js", "executor.py")


@attrs.frozen
class SavedChain:
    state_path: Path
    deployment: dict[str, Any]


def cache_key(chain_id: int, root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256(f"chain {chain_id}\n".encode())
    files = [root / "package-lock.json", *(Path(__file__).with_name(n) for n in _DEPLOY_SOURCES),
             *sorted((root / "contracts" / "devnet").glob("*.sol")),
             *sorted((root / "contracts" / "executor").glob("*.sol"))]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def ensure_saved_chain(cache_dir: Path, chain_id: int) -> SavedChain:
    """The saved state for this key, deploying onto a throwaway automining anvil if absent."""
    key = cache_key(chain_id)
    folder = cache_dir / key
    folder.mkdir(parents=True, exist_ok=True)
    state_path, deployment_path = folder / "state.json", folder / "deployment.json"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (state_path.exists() and deployment_path.exists()):
            log.info("no saved devnet state for key %s: deploying (once)", key)
            anvil = AnvilProcess.start(anvil_argv(port=0, chain_id=chain_id, block_time_ms=None),
                                       folder / "deploy-anvil.log")
            try:
                with SyncChainRpc(anvil.rpc_url, timeout_s=120) as rpc:
                    deployment = deploy_all(rpc, chain_id)
                    dump = rpc.call("anvil_dumpState")
            finally:
                anvil.stop()
            _write_atomically(state_path, gzip.decompress(bytes.fromhex(dump.removeprefix("0x"))))
            _write_atomically(deployment_path, json.dumps(deployment, indent=1).encode())
            _prune_other_keys(cache_dir, keep=key)
        return SavedChain(state_path, json.loads(deployment_path.read_text()))


def _prune_other_keys(cache_dir: Path, *, keep: str) -> None:
    """Delete saved states of other keys that no one is building right now (each is ~8 MB)."""
    for folder in cache_dir.iterdir():
        if folder.name == keep or not (folder / "lock").exists():
            continue
        with open(folder / "lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
