"""Options shared by several command groups."""

from __future__ import annotations

import argparse


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", metavar="PATH", default=None,
                        help="config file (default: $MEVBOT_CONFIG or ./config.toml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one key (repeatable; beats the file and the environment)")
