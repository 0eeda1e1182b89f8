"""`mevbot config check` and `mevbot config show`: validate a config, print the effective one."""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option

EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config", help="validate or show the configuration",
        description="Validate or show the configuration (file < environment < --set).")
    commands = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    commands.required = True

    check = commands.add_parser(
        "check", help="validate a config file; exit 0 if valid, 2 listing every problem",
        description="Validate PATH (default: $MEVBOT_CONFIG or ./config.toml) with the "
                    "MEVBOT__* environment applied. Exit 0 when valid; otherwise exit 2 and "
                    "list every problem on stderr.")
    check.add_argument("path", nargs="?", metavar="PATH", default=None,
                       help="config file (default: $MEVBOT_CONFIG or ./config.toml)")
    check.add_argument("--no-env", action="store_true",
                       help="ignore MEVBOT__* environment overrides (check the file alone)")
    check.set_defaults(handler=run_check)

    show = commands.add_parser(
        "show", help="print the effective config, secrets redacted",
        description="Print the effective config (file, then MEVBOT__* environment, then "
                    "--set) with secrets shown as \"***\". TOML by default.")
    add_config_option(show)
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    show.set_defaults(handler=run_show)


def _report(err: object, path: object) -> int:
    from mevbot.config import ConfigError

    assert isinstance(err, ConfigError)
    where = err.file or (str(path) if path else "config")
    count = len(err.problems)
    print(f"{where}: invalid, {count} problem{'s' if count != 1 else ''}:", file=sys.stderr)
    for problem in err.problems:
        print(f"  {problem}", file=sys.stderr)
    return EXIT_INVALID


def run_check(args: argparse.Namespace) -> int:
    from mevbot.config import ConfigError, load_config, resolve_config_path

    environ = None
    if args.no_env:
        import os

        environ = {k: v for k, v in os.environ.items() if not k.startswith("MEVBOT__")}
    try:
        file = resolve_config_path(args.path, environ=environ)
        load_config(args.path, environ=environ)
    except ConfigError as err:
        return _report(err, args.path)
    where = str(file) if file is not None else "no config file (defaults)"
    print(f"ok: {where} is valid")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from mevbot.config import ConfigError, config_to_toml, load_config, redacted

    try:
        config = load_config(args.config, overrides=args.overrides)
    except ConfigError as err:
        return _report(err, args.config)
    if args.json:
        import json

        print(json.dumps(redacted(config), indent=2))
    else:
        sys.stdout.write(config_to_toml(config))
    return 0
