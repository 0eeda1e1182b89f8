"""`mevbot demo`: the devnet, live traders and the bot trading on them, shown live."""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the bot live on a local devnet with noise traders",
        description="Start the devnet (or use the running one), the seeded noise traders and the bot with "
                    "live execution through the devnet's executor contract; show what the bot sees and does "
                    "(feed, swaps, opportunities, risk decisions, executions, realised profit in WETH read "
                    "from the executor's balance) until Ctrl-C or --duration. Exit 0 on a clean stop.")
    add_config_option(parser)
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--summary", metavar="PATH", default=None,
                        help="write the run's figures as JSON (opportunities, executed, reverted, "
                             "rejected_by_risk, profit_wei, executor, ...)")
    parser.add_argument("--refresh", type=float, default=1.0, metavar="S", help="display refresh period")
    parser.add_argument("--traffic-rate", type=float, default=None, metavar="PER_S",
                        help="noise trades per second (default: [devnet] traffic_rate_per_s)")
    parser.add_argument("--cache-dir", metavar="PATH", default=None,
                        help="folder of the saved devnet chain state (default: <[devnet] home>/cache); point it "
                             "at an existing cache to skip the first deploy")
    parser.set_defaults(handler=handle_demo)


def handle_demo(args: argparse.Namespace) -> int:
    import trio

    from mevbot.config import ConfigError
    from mevbot.demo.session import run_demo

    try:
        summary = trio.run(lambda: run_demo(config_path=args.config, overrides=args.overrides,
                                            duration_s=args.duration, refresh_s=args.refresh, out=sys.stdout,
                                            summary_path=args.summary, traffic_rate=args.traffic_rate,
                                            cache_dir=args.cache_dir))
    except ConfigError as exc:
        print(f"mevbot demo: invalid config:\n{exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"mevbot demo: {exc}", file=sys.stderr)
        return 1
    print(f"profit {summary['profit_wei'] / 1e18:.6f} WETH from {summary['executed']} executed arbitrages")
    return 0
