"""Run the whole devnet in this process: saved chain state -> anvil -> feed relay -> manifest.

:func:`run_devnet` is a trio service (``task_status.started(manifest)`` once the chain serves,
the relay listens and the manifest is written); cancelling it stops the relay and anvil.
`mevbot devnet up --foreground` runs it directly; `devnet up` runs that command as a detached
child and returns once the child reports ready in ``<home>/devnet.json``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from mevbot.devnet.anvil import AnvilProcess, anvil_argv
from mevbot.devnet.errors import DevnetError
from mevbot.devnet.jsonrpc import ChainRpc
from mevbot.devnet.manifest import build_manifest, write_manifest
from mevbot.devnet.relay import FeedRelay
from mevbot.devnet.state_cache import cache_key, ensure_saved_chain
from mevbot.devnet.status import status_path
from mevbot.devnet.toolchain import ensure_npm_packages

if TYPE_CHECKING:  # importing it at run time first would import mevbot.config in a cycle
    from mevbot.devnet.settings import DevnetSettings

log = logging.getLogger(__name__)

@attrs.frozen
class DevnetOptions:
    home: Path
    cache_dir: Path
    manifest_path: Path
    rpc_port: int = 8547
    feed_port: int = 9642
    chain_id: int = 42161
    block_time_ms: int = 250
    feed_backlog: int = 4096
    feed_confirm_interval_s: float = 1.0
    feed_confirm_lag: int = 8
    feed_sign: bool = True

    @classmethod
    def from_settings(cls, settings: DevnetSettings, *, manifest: str | None = None,
                      cache_dir: str | None = None) -> DevnetOptions:
        home = Path(settings.home).absolute()
        return cls(home=home, cache_dir=Path(cache_dir).absolute() if cache_dir else home / "cache",
                   manifest_path=Path(manifest or settings.manifest).absolute(),
                   rpc_port=settings.rpc_port, feed_port=settings.feed_port, chain_id=settings.chain_id,
                   block_time_ms=settings.block_time_ms, feed_backlog=settings.feed_backlog,
                   feed_confirm_interval_s=settings.feed_confirm_interval_s,
                   feed_confirm_lag=settings.feed_confirm_lag, feed_sign=settings.feed_sign)


async def _check_loaded(rpc: ChainRpc, deployment: dict[str, Any]) -> None:
    code = await rpc.call("eth_getCode", deployment["contracts"]["weth9"], "latest")
    if code in (None, "0x"):
        raise DevnetError("anvil started, but the saved state did not load (WETH9 has no code); "
                          "delete the devnet cache folder and run `mevbot devnet up` again")


async def _watch_anvil(anvil: AnvilProcess) -> None:
    """Fail the devnet (and so stop the relay) if anvil dies under it."""
    while anvil.process.poll() is None:
        await trio.sleep(0.5)  # polling the child's real exit status
    tail = anvil.log_path.read_bytes()[-1000:].decode(errors="replace")
    raise DevnetError(f"anvil exited with code {anvil.process.returncode}; log {anvil.log_path}:\n{tail}")


async def run_devnet(options: DevnetOptions, *,
                     task_status: trio.TaskStatus[dict[str, Any]] = trio.TASK_STATUS_IGNORED) -> None:
    await trio.to_thread.run_sync(ensure_npm_packages)
    saved = await trio.to_thread.run_sync(ensure_saved_chain, options.cache_dir, options.chain_id)
    options.home.mkdir(parents=True, exist_ok=True)
    argv = anvil_argv(port=options.rpc_port, chain_id=options.chain_id, block_time_ms=options.block_time_ms,
                      load_state=saved.state_path)
    anvil = await trio.to_thread.run_sync(AnvilProcess.start, argv, options.home / "anvil.log")
    try:
        async with ChainRpc(anvil.rpc_url) as rpc:
            await _check_loaded(rpc, saved.deployment)
            relay = FeedRelay(rpc, anvil.ws_url, chain_id=options.chain_id, backlog_size=options.feed_backlog, sign=options.feed_sign,
                              confirm_interval_s=options.feed_confirm_interval_s, confirm_lag=options.feed_confirm_lag)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_watch_anvil, anvil)
                feed_port = await nursery.start(relay.run, "127.0.0.1", options.feed_port)
                manifest = build_manifest(chain_id=options.chain_id, rpc_url=anvil.rpc_url, ws_url=anvil.ws_url,
                                          feed_url=f"ws://127.0.0.1:{feed_port}/feed",
                                          block_time_ms=options.block_time_ms, feed_signed=options.feed_sign,
                                          state_key=cache_key(options.chain_id), deployment=saved.deployment)
                write_manifest(options.manifest_path, manifest)
                status_path(options.home).write_text(json.dumps({
                    "pid": os.getpid(), "anvil_pid": anvil.process.pid, "rpc_url": anvil.rpc_url,
                    "ws_url": anvil.ws_url, "feed_url": manifest["feed_url"],
                    "manifest": str(options.manifest_path), "anvil_log": str(anvil.log_path),
                }, indent=2) + "\n")
                log.info("devnet ready: rpc %s, feed %s, manifest %s", anvil.rpc_url, manifest["feed_url"],
                         options.manifest_path)
                task_status.started(manifest)
    finally:
        with trio.CancelScope(shield=True):
            status = status_path(options.home)
            try:
                if json.loads(status.read_text()).get("pid") == os.getpid():
                    status.unlink()
            except (FileNotFoundError, ValueError):
                pass
            anvil.stop()
