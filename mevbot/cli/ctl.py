"""`mevbot ctl`: talk to a running bot over its control socket.

Exit codes: 0 the bot did it; 1 no bot is listening, or the bot refused (``ok: false``, the
error is printed); 2 a usage or config error. ``--json`` prints the bot's reply verbatim.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mevbot.cli._common import add_config_option

#: subcommand -> (wire command, help)
SIMPLE = {
    "status": ("status", "the bot's health and every module's state"),
    "modules": ("modules", "a table of modules: state, health, restarts"),
    "reload": ("reload", "re-read the config file now; show what was applied or needs a restart"),
    "config": ("config", "the config in force in the bot, as TOML (secrets redacted)"),
    "emergency-stop": ("emergency-stop", "halt every new execution now; persisted until clear-stop"),
    "clear-stop": ("clear-stop", "lift the emergency stop and resume the trading modules"),
    "routes": ("routes", "the bus's routes to other processes (transport, why, per-lane counters) "
                         "and its in-process subscriptions (depth, drops)"),
}
LIFECYCLE = {
    "start": "start a stopped or failed module",
    "stop": "stop a module (its dependents keep running)",
    "pause": "pause a module: it takes no new work and keeps its state",
    "resume": "resume a paused module",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ctl", help="control a running bot (status, modules, pause, reload, ...)",
        description="Send one command to a running bot over its control socket. Exit codes: 0 done, "
                    "1 no bot listening or the bot refused, 2 usage or config error.")
    parser.add_argument("--socket", metavar="PATH", default=None,
                        help="control socket (default: [control] socket_path of the config)")
    parser.add_argument("--json", action="store_true", help="print the bot's JSON reply")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the reply (default: the request deadline + 5)")
    add_config_option(parser)
    commands = parser.add_subparsers(dest="ctl_command", metavar="COMMAND")
    commands.required = True
    for name, (wire, help_text) in SIMPLE.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _accept_json_after(sub)
        sub.set_defaults(handler=handle_ctl, wire=wire, build_args=lambda a: {})
    for name, help_text in LIFECYCLE.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("module", help="module name, e.g. scanner")
        _accept_json_after(sub)
        sub.set_defaults(handler=handle_ctl, wire=name, build_args=lambda a: {"module": a.module})

    dlq = commands.add_parser("dlq", help="dead letters of the bus: list, replay, purge",
                              description="Dead letters of the bus (served by the bus).")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", metavar="ACTION")
    dlq_commands.required = True
    for action, help_text in (("list", "list dead letters"), ("replay", "send dead letters again"),
                              ("purge", "delete dead letters")):
        sub = dlq_commands.add_parser(action, help=help_text, description=help_text)
        sub.add_argument("--topic", default=None, help="only this topic")
        sub.add_argument("--id", dest="ids", action="append", type=int, default=None, metavar="ID",
                         help="only this dead letter (repeatable)")
        _accept_json_after(sub)
        if action == "list":
            sub.add_argument("--limit", type=int, default=None,
                             help="at most this many, the newest (default 50; 0 = all)")
        sub.set_defaults(handler=handle_ctl, wire=f"dlq-{action}", build_args=_dlq_args)


def _accept_json_after(sub: argparse.ArgumentParser) -> None:
    """Let `--json` follow the command too (`mevbot ctl status --json`)."""
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the bot's JSON reply")


def _dlq_args(args: argparse.Namespace) -> dict[str, Any]:
    found = {"topic": args.topic, "ids": args.ids, "limit": getattr(args, "limit", None)}
    return {key: value for key, value in found.items() if value is not None}


def _resolve_socket(args: argparse.Namespace) -> tuple[str, float] | int:
    """The socket path and request deadline, from --socket or the config (exit code 2 if invalid).

    A file with problems outside [control] still names the socket: the operator may just have
    saved a broken file and want `ctl reload` to show the bot's verdict on it.
    """
    if args.socket is not None and not args.config and not args.overrides:
        return args.socket, 5.0
    from mevbot.config.errors import ConfigError
    from mevbot.config.loader import load_config

    try:
        control = load_config(args.config, overrides=args.overrides).control
    except ConfigError as exc:
        control = _control_section_only(args)
        if control is None:
            print("mevbot ctl: invalid config (needed for the socket path; or pass --socket):", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 2
    return args.socket or control.socket_path, control.request_timeout_s


def _control_section_only(args: argparse.Namespace):
    """The [control] section alone (file, environment, --set), or None if it is invalid too."""
    import os
    import tomllib

    from mevbot.config.errors import ConfigError
    from mevbot.config.loader import build_config, resolve_config_path
    from mevbot.config.render import dumps

    file = resolve_config_path(args.config)
    try:
        data = tomllib.loads(file.read_text()) if file is not None else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    only = {"control": data["control"]} if isinstance(data.get("control"), dict) else {}
    environ = {k: v for k, v in os.environ.items() if k.startswith("MEVBOT__CONTROL__")}
    overrides = [o for o in args.overrides if o.startswith("control.")]
    try:
        return build_config(dumps(only).encode(), file, environ=environ, overrides=overrides).control
    except ConfigError:
        return None


def _render(command: str, reply: dict[str, Any]) -> str:
    from mevbot.control import render

    if not reply.get("ok"):
        if command == "reload":
            return render.render_reload(reply)
        lines = [f"error: {reply.get('error', 'the bot refused without saying why')}"]
        lines += [f"  - {p}" for p in reply.get("problems", [])]
        return "\n".join(lines)
    if command == "status":
        return render.render_status(reply)
    if command == "modules":
        return render.render_module_table(reply.get("modules", []))
    if command in LIFECYCLE:
        row = reply["module"]
        return f"{row['name']}: {row['state']} ({row['health']}{': ' + row['reason'] if row['reason'] else ''})"
    if command == "reload":
        return render.render_reload(reply)
    if command == "config":
        from mevbot.config.render import dumps

        return f"# in force in the bot (file: {reply.get('config_file') or 'none'})\n" + dumps(reply["config"])
    if command == "emergency-stop":
        return "EMERGENCY STOP active; paused: " + (", ".join(reply.get("paused", [])) or "nothing")
    if command == "clear-stop":
        return "emergency stop cleared; resumed: " + (", ".join(reply.get("resumed", [])) or "nothing")
    if command == "dlq-list":
        return render.render_dlq_list(reply)
    if command == "dlq-replay":
        return render.render_dlq_replay(reply)
    if command == "dlq-purge":
        return render.render_dlq_purge(reply)
    if command == "routes":
        return render.render_routes(reply)
    return render.render_generic(reply)


def handle_ctl(args: argparse.Namespace) -> int:
    from mevbot.control.client import send_command
    from mevbot.control.errors import BadControlMessage, ControlUnavailable

    resolved = _resolve_socket(args)
    if isinstance(resolved, int):
        return resolved
    socket_path, request_timeout_s = resolved
    timeout_s = args.timeout if args.timeout is not None else request_timeout_s + 5.0
    try:
        reply = send_command(socket_path, args.wire, args.build_args(args), timeout_s=timeout_s)
    except (ControlUnavailable, BadControlMessage) as exc:
        print(f"mevbot ctl: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(reply, indent=2))
    else:
        text = _render(args.wire, reply)
        print(text, file=sys.stdout if reply.get("ok") else sys.stderr)
    return 0 if reply.get("ok") else 1
