"""The main job, end to end: a devnet with live traders, and the bot trading on it.

One process runs the devnet (anvil from the saved state, the real Uniswap/Sushi contracts, the
Nitro-format feed relay) unless one is already up, the seeded noise traders, and the whole bot
(every module, execution live through the devnet's executor, signing with the bot's public anvil
test key). It counts what the bot sees and does from the bus, reads the realised profit from the
executor's on-chain WETH balance, and stops on Ctrl-C or after ``duration_s``.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio

from mevbot.control.render import module_row, render_module_table
from mevbot.runtime.manager import ModuleState
from mevbot.runtime.module import HealthState

_CLEAR = "\x1b[H\x1b[2J"
BALANCE_OF = bytes.fromhex("70a08231")


@attrs.define
class DemoStats:
    started: float = 0.0
    counts: Counter = attrs.field(factory=Counter)
    rejections: Counter = attrs.field(factory=Counter)  # risk rule -> opportunities it rejected
    drops: Counter = attrs.field(factory=Counter)  # why execution dropped a request, without its figures
    start_balance_wei: int | None = None
    balance_wei: int | None = None
    executor: str = ""
    manifest_path: str = ""

    @property
    def profit_wei(self) -> int:
        if self.start_balance_wei is None or self.balance_wei is None:
            return 0
        return self.balance_wei - self.start_balance_wei

    def summary(self, elapsed_s: float) -> dict[str, Any]:
        c = self.counts
        return {
            "duration_s": round(elapsed_s, 1),
            "feed_messages": c["feed_messages"],
            "transactions_seen": c["transactions"],
            "swaps_decoded": c["swaps"],
            "opportunities": c["opportunities"],
            "approved_by_risk": c["approved"],
            "rejected_by_risk": c["rejected"],
            "executed": c["succeeded"],
            "reverted": c["reverted"],
            "failed": c["failed"],
            "dropped": c["dropped"],
            "rejected_by_rule": dict(sorted(self.rejections.items())),
            "dropped_by_reason": dict(sorted(self.drops.items())),
            "realised_profit_events_wei": c["realised_wei"],
            "gas_spent_wei": c["gas_wei"],
            "profit_wei": self.profit_wei,
            "profit_token": "WETH",
            "executor": self.executor,
            "manifest": self.manifest_path,
        }


def bot_overrides(manifest: dict[str, Any], manifest_path: Path) -> list[str]:
    """--set overrides that point every module at the devnet and make execution live."""
    def toml_list(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    return [
        f"rpc.http_urls={toml_list([manifest['rpc_url']])}",
        f"rpc.ws_urls={toml_list([manifest['ws_url']])}",
        f"monitor.feed_urls={toml_list([manifest['feed_url']])}",
        f"monitor.chain_id={manifest['chain_id']}",
        f"parser.manifest={manifest_path}",
        f"execution.executor={manifest['contracts']['executor']}",
        "execution.dry_run=false",
        # The devnet's pools are far thinner than mainnet's, so one noise trade can move a pool
        # 20% within seconds; a wider volatility threshold and a short cool-down keep the breaker
        # for real anomalies in the demo (the defaults stay strict for a real chain).
        "risk.max_pool_move_bps=5000",
        "risk.breaker_cooldown_s=10",
        # anvil holds the noise traders' transactions until it mines them, first in, first out:
        # simulate behind them too (on Arbitrum the sequencer holds none: off by default)
        "execution.simulate_pending=true",
    ]


def _log_to_file(config) -> Path:
    """Send the bot's log to [log] file, or to ``<[devnet] home>/demo.log``: the terminal is the display's."""
    from mevbot.runtime.logs import configure_logging

    path = Path(config.log.file or Path(config.devnet.home) / "demo.log").absolute()
    configure_logging(attrs.evolve(config.log, file=str(path)), stream=open(os.devnull, "w"))
    return path


async def _balance(rpc, token: str, holder: str) -> int:
    data = BALANCE_OF + bytes(12) + bytes.fromhex(holder[2:])
    return int.from_bytes(await rpc.eth_call(token, data), "big")


async def _count(bot, stats: DemoStats) -> None:
    """Tally what flows on the bus, from dedicated drop-oldest subscriptions."""
    bus = bot.bus
    subs = [bus.subscribe(t, name=f"demo.{t}", overflow="drop-oldest")
            for t in ("feed.block", "market.swap.intent", "arb.opportunity", "risk.decision", "exec.result")]

    async def tally(sub) -> None:
        c = stats.counts
        async for env in sub:
            p = env.payload
            if env.topic == "feed.block":
                c["feed_messages"] += 1
                c["transactions"] += len(p.transactions)
            elif env.topic == "market.swap.intent":
                c["swaps"] += 1
            elif env.topic == "arb.opportunity":
                c["opportunities"] += 1
            elif env.topic == "risk.decision":
                c["approved" if p.approved else "rejected"] += 1
                if not p.approved:
                    stats.rejections[p.rule or "?"] += 1
            elif env.topic == "exec.result":
                c[p.status] += 1
                if p.status == "dropped":
                    stats.drops[re.sub(r"\d+", "N", p.reason.split("(")[0].strip())] += 1
                c["realised_wei"] += p.realised_profit or 0
                c["gas_wei"] += p.gas_cost_wei or 0

    try:
        async with trio.open_nursery() as nursery:
            for sub in subs:
                nursery.start_soon(tally, sub)
    finally:
        for sub in subs:
            sub.close()


def render(bot, stats: DemoStats, elapsed_s: float, *, finished: bool = False) -> str:
    """One frame of the display; ``finished``: the last one, after the bot stopped, where a module
    that stopped with the run is just stopped (while it runs, a stopped module degrades the bot)."""
    s = stats.summary(elapsed_s)
    # a rate over the first fraction of a second says nothing (the backlog's first messages)
    rate = f"{s['feed_messages'] / elapsed_s:.1f}/s" if elapsed_s >= 1.0 else "-/s"
    statuses = bot.manager.statuses()
    rows = [module_row(st) for st in statuses]
    if finished:
        failed = [f"{st.name} ({st.health.reason})" for st in statuses if st.health.state is HealthState.FAILED]
        headline = "bot stopped: the run is over" + (f"; failed before the end: {', '.join(failed)}" if failed else "")
        for row in rows:
            if row["state"] == ModuleState.STOPPED.value:
                row["health"], row["reason"] = "-", ""
    else:
        health = bot.manager.health()
        headline = f"bot {health.state.value}: {health.reason}"
    lines = [
        f"mevbot demo  t={elapsed_s:6.1f}s  {headline}",
        f"feed {s['feed_messages']} msgs ({rate}), {s['transactions_seen']} txs seen, "
        f"{s['swaps_decoded']} swaps decoded before receipt",
        f"opportunities {s['opportunities']}  approved {s['approved_by_risk']}  rejected by risk "
        f"{s['rejected_by_risk']}",
        f"executed {s['executed']}  reverted {s['reverted']}  failed {s['failed']}  dropped {s['dropped']}",
        f"realised profit {s['profit_wei'] / 1e18:.6f} WETH (executor {stats.executor} balance), "
        f"gas {s['gas_spent_wei'] / 1e18:.6f} ETH",
        "",
        render_module_table(rows),
    ]
    return "\n".join(lines)


async def run_demo(*, config_path: str | None, overrides: list[str], duration_s: float | None,
                   refresh_s: float, out: TextIO, summary_path: str | None = None,
                   traffic_rate: float | None = None, cache_dir: str | None = None) -> dict[str, Any]:
    from mevbot.config import load_config
    from mevbot.devnet.errors import DevnetNotRunning
    from mevbot.devnet.executor import bot_account
    from mevbot.devnet.manifest import read_manifest
    from mevbot.devnet.runner import DevnetOptions, run_devnet
    from mevbot.devnet.status import pid_alive, read_status
    from mevbot.devnet.traders import TrafficOptions, run_traffic
    from mevbot.rpc.client import RpcClient
    from mevbot.runtime.bot import Bot
    from mevbot.runtime.registry import select_modules

    base = load_config(config_path, overrides=overrides)
    log_path = _log_to_file(base)
    options = DevnetOptions.from_settings(base.devnet, cache_dir=cache_dir)
    stats = DemoStats()
    redraw = out.isatty()
    async with trio.open_nursery() as nursery:
        try:
            status = read_status(options.home)
        except DevnetNotRunning:
            status = None
        if status and pid_alive(status.get("pid", -1)):
            manifest_path = Path(status["manifest"])
            manifest = read_manifest(manifest_path)
            out.write(f"using the running devnet at {manifest['rpc_url']}\n")
        else:
            out.write("starting the devnet (the first run compiles and deploys; later runs load the saved state)\n")
            out.flush()
            manifest = await nursery.start(run_devnet, options)
            manifest_path = options.manifest_path
        if "executor" not in manifest.get("contracts", {}):
            raise RuntimeError(f"the devnet manifest {manifest_path} names no executor: restart it with "
                               "`mevbot devnet down && mevbot devnet up` to deploy one")
        stats.executor = manifest["contracts"]["executor"]
        stats.manifest_path = str(manifest_path)
        out.write(f"bot log: {log_path}\n")
        # the bot's devnet key is anvil's public test key for dev account 9, never a real secret
        os.environ[base.execution.devnet_key_env] = bot_account().key.hex()
        config = load_config(config_path, overrides=[*overrides, *bot_overrides(manifest, manifest_path)])
        modules, disabled = select_modules(config)
        bot = Bot(config, modules, absent_ok=disabled, handle_signals=False)
        weth = manifest["contracts"]["weth9"]
        async with RpcClient([manifest["rpc_url"]]) as rpc:
            stats.start_balance_wei = stats.balance_wei = await _balance(rpc, weth, stats.executor)
            bot_done = trio.Event()

            async def run_bot(task_status=trio.TASK_STATUS_IGNORED) -> None:
                try:
                    await bot.run(task_status=task_status)
                finally:
                    bot_done.set()

            async with trio.open_nursery() as inner:
                inner.start_soon(_count, bot, stats)
                await inner.start(run_bot)
                traffic = TrafficOptions.from_settings(config.devnet, rate_per_s=traffic_rate)
                inner.start_soon(run_traffic, manifest, traffic)
                started = trio.current_time()
                deadline = started + (duration_s if duration_s is not None else math.inf)
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async def stop_on_signal() -> None:
                        async for _ in signals:
                            bot.request_stop()
                            return

                    inner.start_soon(stop_on_signal)
                    while not bot_done.is_set():
                        stats.balance_wei = await _balance(rpc, weth, stats.executor)
                        elapsed = trio.current_time() - started
                        frame = render(bot, stats, elapsed)
                        out.write((_CLEAR + frame + "\n") if redraw else (frame + "\n\n"))
                        out.flush()
                        if trio.current_time() >= deadline:
                            bot.request_stop()
                        with trio.move_on_at(min(deadline, trio.current_time() + refresh_s)):
                            await bot_done.wait()
                    stats.balance_wei = await _balance(rpc, weth, stats.executor)
                inner.cancel_scope.cancel()
        elapsed = trio.current_time() - started
        summary = stats.summary(elapsed)
        out.write(render(bot, stats, elapsed, finished=True) + "\n")
        if summary_path:
            Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
        nursery.cancel_scope.cancel()  # the in-process devnet, if we started it
    return summary
