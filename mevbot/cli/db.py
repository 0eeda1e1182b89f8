"""`mevbot db stats` and `mevbot db export`: look into the data store for analysis.

Both read the database named by ``[store] path`` of the config (``--config``/``--set`` as
everywhere), without creating or migrating it. Exit codes: 0 done, 1 no usable database,
2 bad arguments (unknown table, unreadable time, invalid config).
"""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option

EXIT_NO_DATABASE = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="inspect and export the data store",
                                   description="Inspect and export the SQLite data store ([store] path).")
    commands = parser.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    commands.required = True

    stats = commands.add_parser("stats", help="row counts, time range, size and schema version",
                                description="Row counts and time range per table, database size and "
                                            "schema version.")
    add_config_option(stats)
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=run_stats)

    export = commands.add_parser("export", help="export one table as CSV or JSON lines",
                                 description="Export one table, oldest row first, as CSV or JSON lines "
                                             "(the payload column embedded as JSON).")
    add_config_option(export)
    export.add_argument("--table", "-t", required=True, help="table to export (see `mevbot db stats`)")
    export.add_argument("--since", metavar="TIME", default=None,
                        help="only rows at or after TIME: ISO-8601 (UTC unless a zone is given) or unix seconds")
    export.add_argument("--format", "-f", choices=("csv", "jsonl"), default="csv", help="output format (default csv)")
    export.add_argument("--out", "-o", metavar="PATH", default=None, help="write to PATH instead of stdout")
    export.set_defaults(handler=run_export)


def _open(args: argparse.Namespace):
    """(connection, path) of the configured database, or an exit code after saying why not."""
    import pathlib
    import sqlite3

    from mevbot.config import ConfigError, load_config

    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as err:
        print(f"mevbot db: invalid config: {err}", file=sys.stderr)
        return None, EXIT_USAGE
    path = pathlib.Path(config.store.path)
    if not path.is_file():
        print(f"mevbot db: no database at {path} ([store] path); the store creates it when the bot runs",
              file=sys.stderr)
        return None, EXIT_NO_DATABASE
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        print(f"mevbot db: cannot read {path}: {exc}", file=sys.stderr)
        return None, EXIT_NO_DATABASE
    return (db, path), 0


def run_stats(args: argparse.Namespace) -> int:
    import json

    from mevbot.store.queries import db_stats

    opened, code = _open(args)
    if opened is None:
        return code
    db, path = opened
    with db:
        stats = db_stats(db, path)
    db.close()
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"database   {stats['path']}")
    print(f"schema     version {stats['schema_version']}")
    print(f"size       {stats['size_bytes']:,} bytes")
    print()
    print(f"{'table':<20} {'rows':>10}  {'first':<25} {'last':<25}")
    for table, info in stats["tables"].items():
        print(f"{table:<20} {info['rows']:>10,}  {info['first'] or '-':<25} {info['last'] or '-':<25}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from mevbot.store.errors import StoreError
    from mevbot.store.queries import export_rows, parse_time, write_csv, write_jsonl

    try:
        since = parse_time(args.since) if args.since is not None else None
    except StoreError as exc:
        print(f"mevbot db export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    opened, code = _open(args)
    if opened is None:
        return code
    db, _ = opened
    try:
        columns, rows = export_rows(db, args.table, since=since)
    except StoreError as exc:
        print(f"mevbot db export: {exc}", file=sys.stderr)
        db.close()
        return EXIT_USAGE
    write = write_csv if args.format == "csv" else write_jsonl
    try:
        if args.out:
            with open(args.out, "w", newline="", encoding="utf-8") as out:
                count = write(out, columns, rows)
        else:
            count = write(sys.stdout, columns, rows)
    finally:
        db.close()
    print(f"exported {count} rows from {args.table}", file=sys.stderr)
    return 0
