"""`mevbot demo`: run the bot and show its modules' status until Ctrl-C or --duration.

For now it runs the bot with the default (or given) config; the devnet work turns it into the
full demo. The table comes from :func:`mevbot.control.render.render_module_table`, the same one
`mevbot ctl modules` prints.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

from mevbot.cli._common import add_config_option

_CLEAR = "\x1b[H\x1b[2J"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the bot and show a live module status table",
        description="Run the bot with the default config (or --config) and print a compact module "
                    "status table every second until Ctrl-C or --duration. Exit 0 on a clean stop.")
    add_config_option(parser)
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--refresh", type=float, default=1.0, metavar="S", help="table refresh period")
    parser.set_defaults(handler=handle_demo)


def render_frame(bot, elapsed_s: float) -> str:
    """One screen of the demo: the bot's health and the module table."""
    from mevbot.control.render import module_row, render_module_table

    health = bot.manager.health()
    rows = [module_row(status) for status in bot.manager.statuses()]
    header = f"mevbot demo  t={elapsed_s:5.1f}s  bot {health.state.value}: {health.reason}"
    if bot.emergency_stopped:
        header += "  [EMERGENCY STOP]"
    return header + "\n" + render_module_table(rows)


async def run_demo(bot, *, duration_s: float | None, refresh_s: float, out: TextIO):
    """Run ``bot`` while printing frames; returns its shutdown report."""
    import trio

    redraw = out.isatty()

    outcome = {}
    async with trio.open_nursery() as nursery:

        async def run_bot(task_status=trio.TASK_STATUS_IGNORED) -> None:
            outcome["report"] = await bot.run(task_status=task_status)
            nursery.cancel_scope.cancel()  # the bot stopped (signal or --duration): so does the table

        async def show() -> None:
            while True:
                frame = render_frame(bot, trio.current_time() - started)
                out.write((_CLEAR + frame + "\n") if redraw else (frame + "\n\n"))
                out.flush()
                await trio.sleep(refresh_s)

        async def stop_later() -> None:
            await trio.sleep(duration_s if duration_s is not None else math.inf)
            bot.request_stop()

        started = trio.current_time()
        await nursery.start(run_bot)
        nursery.start_soon(show)
        nursery.start_soon(stop_later)
    out.write(render_frame(bot, trio.current_time() - started) + "\n")
    return outcome["report"]


def handle_demo(args: argparse.Namespace) -> int:
    import trio

    from mevbot.cli.run import prepare_bot
    from mevbot.control.errors import ControlError

    bot = prepare_bot(args.config, args.overrides, None)
    if isinstance(bot, int):
        return bot
    try:
        report = trio.run(lambda: run_demo(bot, duration_s=args.duration, refresh_s=args.refresh, out=sys.stdout))
    except ControlError as exc:
        print(f"mevbot demo: {exc}", file=sys.stderr)
        return 1
    return 0 if report.clean else 1
