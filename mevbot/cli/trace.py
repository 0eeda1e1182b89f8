"""`mevbot trace SEQ_OR_TXHASH`: an event's path through the modules, with per-hop times, from the store.

Reads ``[store] path`` read-only (never creates or migrates it). Exit codes: 0 shown, 1 no
usable database, 2 bad argument or invalid config, 3 nothing stored for it.
"""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option

EXIT_NO_DATABASE = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace", help="show an event's path through the modules",
        description="Show every stored hop of the trace a feed sequence number or a transaction hash belongs "
                    "to (feed block, swap intents, state changes, opportunities, risk decisions, executions), "
                    "in order, with each hop's time and its delay since the first.")
    add_config_option(parser)
    parser.add_argument("key", metavar="SEQ_OR_TXHASH", help="feed sequence number, or 0x transaction hash")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=handle_trace)


def handle_trace(args: argparse.Namespace) -> int:
    import json
    import pathlib
    import sqlite3

    from mevbot.config import ConfigError, load_config
    from mevbot.replay.errors import TraceError
    from mevbot.replay.trace import format_trace, read_trace, trace_ids_for

    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as exc:
        print(f"mevbot trace: invalid config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    path = pathlib.Path(config.store.path)
    if not path.is_file():
        print(f"mevbot trace: no database at {path} ([store] path); the store creates it when the bot runs",
              file=sys.stderr)
        return EXIT_NO_DATABASE
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.execute("PRAGMA busy_timeout=5000")
        try:
            ids = trace_ids_for(db, args.key)
            traces = [read_trace(db, trace_id, args.key) for trace_id in ids]
        finally:
            db.close()
    except TraceError as exc:
        print(f"mevbot trace: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.Error as exc:
        print(f"mevbot trace: cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_NO_DATABASE
    traces = [t for t in traces if t.hops]
    if not traces:
        print(f"mevbot trace: nothing stored for {args.key} in {path}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.json:
        print(json.dumps([{"trace_id": t.trace_id, "query": t.query,
                           "hops": [h.to_json(t.hops[0].ts) for h in t.hops]} for t in traces], indent=2))
    else:
        print("\n\n".join(format_trace(t) for t in traces))
    return 0
