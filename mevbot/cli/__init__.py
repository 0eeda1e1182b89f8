"""The `mevbot` command line: one file per command group in this package.

Each module here exposes ``register(subparsers)`` that adds its command(s) and sets
``handler=`` on them; a handler takes the parsed ``argparse.Namespace`` and returns an exit
code. Modules are discovered, so a new command group is a new file. Handlers import heavy
dependencies lazily so that `mevbot ctl` stays quick to start.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mevbot", description="MEV arbitrage bot for Arbitrum.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
