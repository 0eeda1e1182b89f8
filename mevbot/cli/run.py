"""`mevbot run`: run the bot (all modules, or those named) in this process."""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the bot in this process",
        description="Run the bot: start the modules in dependency order, serve the control socket, "
                    "reload the config on change, and stop gracefully on SIGINT/SIGTERM. "
                    "Exit codes: 0 clean shutdown, 1 runtime error (socket in use, forced shutdown), "
                    "2 invalid config.")
    add_config_option(parser)
    parser.add_argument("--modules", metavar="A,B", default=None,
                        help="run only these modules (comma-separated; their dependencies must be "
                             "listed too); default: every enabled module")
    parser.set_defaults(handler=handle_run)


def parse_module_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def prepare_bot(config_arg, overrides, module_names):
    """The configured Bot, or an exit code (2) after printing why the config is unusable."""
    from mevbot.config.errors import ConfigError
    from mevbot.config.reload import ConfigReloader
    from mevbot.runtime.bot import Bot
    from mevbot.runtime.errors import ModuleGraphError, UnknownModuleError
    from mevbot.runtime.logs import configure_logging
    from mevbot.runtime.registry import select_modules

    try:
        reloader = ConfigReloader(config_arg, overrides=overrides)
    except ConfigError as exc:
        where = f" {exc.file}" if exc.file else ""
        print(f"mevbot: invalid config{where}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    config = reloader.current
    configure_logging(config.log)
    try:
        modules, disabled = select_modules(config, module_names)
        return Bot(config, modules, reloader=reloader, absent_ok=disabled)
    except (ModuleGraphError, UnknownModuleError) as exc:
        print(f"mevbot: invalid config: {exc}", file=sys.stderr)
        return 2


def handle_run(args: argparse.Namespace) -> int:
    import trio

    from mevbot.control.errors import ControlError

    bot = prepare_bot(args.config, args.overrides, parse_module_list(args.modules))
    if isinstance(bot, int):
        return bot
    try:
        report = trio.run(bot.run)
    except ControlError as exc:
        print(f"mevbot run: {exc}", file=sys.stderr)
        return 1
    return 0 if report.clean else 1
