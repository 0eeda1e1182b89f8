"""`mevbot devnet up|down|status|traffic`: a local Arbitrum-like chain with real DEXes and a feed."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    devnet = subparsers.add_parser("devnet", help="local devnet: anvil + Uniswap V2/V3 + SushiSwap + Nitro feed relay",
                                   description="A local chain (anvil, chain id 42161, 250 ms blocks) with the real "
                                               "Uniswap V2/V3 and SushiSwap contracts, a Nitro-format feed relay and "
                                               "noise traders.")
    commands = devnet.add_subparsers(dest="devnet_command", metavar="SUBCOMMAND")
    commands.required = True

    up = commands.add_parser("up", help="start the devnet (installs and deploys on first run)",
                             description="Start anvil from the saved chain state (deploying once if there is none), "
                                         "the feed relay, and write the manifest. Returns once all is ready and "
                                         "leaves the devnet running in the background until `devnet down`.")
    add_config_option(up)
    _add_location_options(up)
    up.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C or SIGTERM stops the devnet")
    up.add_argument("--rpc-port", type=int, default=None, help="anvil's port (default: [devnet] rpc_port; 0 = any free)")
    up.add_argument("--feed-port", type=int, default=None, help="the relay's port (default: [devnet] feed_port; 0 = any free)")
    up.add_argument("--cache-dir", default=None, metavar="PATH", help="where saved chain states live (default: HOME/cache)")
    up.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a background start (default 600)")
    up.set_defaults(handler=_up)

    down = commands.add_parser("down", help="stop the background devnet")
    add_config_option(down)
    _add_location_options(down)
    down.set_defaults(handler=_down)

    status = commands.add_parser("status", help="say what runs where")
    add_config_option(status)
    _add_location_options(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(handler=_status)

    traffic = commands.add_parser("traffic", help="run seeded noise traders through the real routers",
                                  description="Swap through Uniswap V2, SushiSwap and Uniswap V3 routers from anvil's "
                                              "dev accounts at a configured rate, so that cross-DEX price gaps appear.")
    add_config_option(traffic)
    _add_location_options(traffic)
    traffic.add_argument("--rate", type=float, default=None, help="trades per second (default: [devnet] traffic_rate_per_s)")
    traffic.add_argument("--seed", type=int, default=None, help="random seed (default: [devnet] traffic_seed)")
    traffic.add_argument("--count", type=int, default=None, help="stop after this many trades")
    traffic.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    traffic.set_defaults(handler=_traffic)


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", default=None, metavar="PATH", help="devnet folder (default: [devnet] home)")
    parser.add_argument("--manifest", default=None, metavar="PATH", help="manifest path (default: [devnet] manifest)")


def _settings(args: argparse.Namespace) -> Any:
    import attrs

    from mevbot.config.errors import ConfigError
    from mevbot.config.loader import load_config

    try:
        settings = load_config(args.config, overrides=args.overrides).devnet
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    changes: dict[str, Any] = {}
    if args.home is not None:
        changes["home"] = args.home
    if args.manifest is not None:
        changes["manifest"] = args.manifest
    for name in ("rpc_port", "feed_port"):
        if getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    return attrs.evolve(settings, **changes)


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _up(args: argparse.Namespace) -> int:
    from mevbot.devnet.errors import DevnetError, DevnetNotRunning
    from mevbot.devnet.runner import DevnetOptions
    from mevbot.devnet.status import read_status
    from mevbot.devnet.toolchain import ensure_npm_packages

    settings = _settings(args)
    options = DevnetOptions.from_settings(settings, cache_dir=args.cache_dir)
    try:
        ensure_npm_packages()
    except DevnetError as exc:
        return _fail(exc)
    if args.foreground:
        return _run_foreground(options)
    try:
        status = read_status(options.home)
        print(f"devnet already running (pid {status['pid']}): rpc {status['rpc_url']}, feed {status['feed_url']}")
        return 0
    except DevnetNotRunning:
        pass
    return _start_background(args, options)


def _run_foreground(options: Any) -> int:
    import logging

    import trio

    from mevbot.devnet.runner import run_devnet

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def stop_on_signal(scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                scope.cancel()
                return

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signal, nursery.cancel_scope)
            manifest = await nursery.start(run_devnet, options)
            print(f"devnet ready: rpc {manifest['rpc_url']}, feed {manifest['feed_url']}, "
                  f"manifest {options.manifest_path}", flush=True)

    try:
        trio.run(main)
    except BaseExceptionGroup as group:  # the nurseries wrap what run_devnet raised
        error = _first_devnet_error(group)
        if error is None:
            raise
        return _fail(error)
    return 0


def _first_devnet_error(error: BaseException) -> BaseException | None:
    from mevbot.devnet.errors import DevnetError

    if isinstance(error, DevnetError):
        return error
    for inner in getattr(error, "exceptions", ()):
        found = _first_devnet_error(inner)
        if found is not None:
            return found
    return None


def _start_background(args: argparse.Namespace, options: Any) -> int:
    from mevbot.devnet.status import status_path

    options.home.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "mevbot", "devnet", "up", "--foreground", "--home", str(options.home),
            "--manifest", str(options.manifest_path), "--rpc-port", str(options.rpc_port),
            "--feed-port", str(options.feed_port), "--cache-dir", str(options.cache_dir)]
    if args.config:
        argv += ["--config", args.config]
    for override in args.overrides:
        argv += ["--set", override]
    log_path = options.home / "devnet.log"
    with open(log_path, "ab") as log:
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            status = json.loads(status_path(options.home).read_text())
            if status.get("pid") == child.pid:
                print(f"devnet ready (pid {child.pid}): rpc {status['rpc_url']}, feed {status['feed_url']}, "
                      f"manifest {status['manifest']}; log {log_path}")
                return 0
        except (FileNotFoundError, ValueError):
            pass
        if child.poll() is not None:
            tail = log_path.read_bytes()[-2000:].decode(errors="replace")
            print(f"error: the devnet exited with code {child.returncode} while starting; log {log_path}:\n{tail}",
                  file=sys.stderr)
            return 1
        time.sleep(0.1)  # polling the child's real ready marker, with a deadline
    child.terminate()
    print(f"error: the devnet was not ready within {args.timeout} s; log {log_path}", file=sys.stderr)
    return 1


def _down(args: argparse.Namespace) -> int:
    from mevbot.devnet.errors import DevnetNotRunning
    from mevbot.devnet.status import pid_alive, read_status

    home = Path(_settings(args).home).absolute()
    try:
        status = read_status(home)
    except DevnetNotRunning as exc:
        print(str(exc))
        return 0
    pid = int(status["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the process's real exit, with a deadline
    if pid_alive(pid):
        return _fail(RuntimeError(f"devnet process {pid} did not stop within 20 s"))
    print(f"devnet stopped (pid {pid})")
    return 0


def _status(args: argparse.Namespace) -> int:
    from mevbot.devnet.errors import ChainRpcError, DevnetNotRunning
    from mevbot.devnet.jsonrpc import SyncChainRpc
    from mevbot.devnet.status import read_status

    home = Path(_settings(args).home).absolute()
    try:
        status = read_status(home)
    except DevnetNotRunning as exc:
        print(json.dumps({"running": False}) if args.json else str(exc))
        return 3
    try:
        with SyncChainRpc(status["rpc_url"], timeout_s=5) as rpc:
            status["block_number"] = int(rpc.call("eth_blockNumber"), 16)
            status["chain_id"] = int(rpc.call("eth_chainId"), 16)
    except ChainRpcError as exc:
        status["rpc_error"] = str(exc)
    status["running"] = True
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(f"devnet running (pid {status['pid']}, anvil pid {status['anvil_pid']})")
        print(f"  rpc      {status['rpc_url']}  (ws {status['ws_url']})")
        print(f"  feed     {status['feed_url']}")
        print(f"  manifest {status['manifest']}")
        if "block_number" in status:
            print(f"  chain    id {status['chain_id']}, block {status['block_number']}")
        else:
            print(f"  chain    not answering: {status['rpc_error']}")
    return 0


def _traffic(args: argparse.Namespace) -> int:
    import logging

    import trio

    from mevbot.devnet.errors import DevnetError
    from mevbot.devnet.manifest import read_manifest
    from mevbot.devnet.traders import TrafficOptions, run_traffic

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = _settings(args)
    try:
        manifest = read_manifest(settings.manifest)
    except DevnetError as exc:
        return _fail(exc)
    options = TrafficOptions.from_settings(settings, rate_per_s=args.rate, seed=args.seed, count=args.count,
                                           duration_s=args.duration)
    try:
        stats = trio.run(run_traffic, manifest, options)
    except KeyboardInterrupt:
        return 130
    except DevnetError as exc:
        return _fail(exc)
    print(f"noise trades: {stats.sent} sent, {stats.succeeded} succeeded, {stats.reverted} reverted, "
          f"{stats.send_failed} not accepted; by kind: {json.dumps(stats.by_kind, sort_keys=True)}")
    return 0 if stats.reverted == 0 and stats.send_failed == 0 else 1
