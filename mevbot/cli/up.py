"""`mevbot up`: start every process [deploy] places on this host and keep them running.

Each process is a child `mevbot run --process NAME` with the same config file and ``--set``
flags; the supervisor (mevbot/deploy/supervisor.py) restarts one that dies, with backoff, and
stops them all on SIGINT/SIGTERM. `--check` validates the placement and prints the plan;
`--status` shows each process as the supervisor sees it and as its own control socket reports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "up", help="start and supervise every process placed on this host",
        description="Start every process of the [deploy] placement that runs on this host (each as "
                    "`mevbot run --process NAME`), restart one that dies with exponential backoff, "
                    "and stop them all cleanly on SIGINT/SIGTERM. Exit codes: 0 every process "
                    "stopped cleanly, 1 one did not, 2 invalid config or placement.")
    add_config_option(parser)
    parser.add_argument("--host", metavar="NAME", default=None,
                        help="the [deploy.hosts] key of this machine (default: the only host with "
                             "processes, else the host whose address is this machine's)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="validate the placement and every process's config, print the plan, exit")
    mode.add_argument("--status", action="store_true",
                      help="show the processes of this host: supervisor state and control-socket status")
    parser.add_argument("--json", action="store_true", help="with --check/--status: print JSON")
    parser.set_defaults(handler=handle_up)


def status_path(config, host: str) -> Path:
    return Path(config.control.socket_path).parent / f"up-{host}.json"


def _fail(message: str, problems: list[str] = ()) -> int:
    print(f"mevbot up: {message}", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2


def _plan(config, host: str, names: list[str], args) -> dict | None:
    from mevbot.bus.router import listen_endpoints, plan_routes
    from mevbot.cli.run import load_process_config
    from mevbot.deploy.placement import control_socket_for

    deploy = config.deploy
    plan = {"host": host, "processes": {}}
    for name in names:
        # each process's own config (file + its overrides + flags) must load too
        reloader = load_process_config(args.config, args.overrides, name)
        if isinstance(reloader, int):
            return None
        mine = reloader.current
        own = mine.deploy  # deploy.process = name
        plan["processes"][name] = {
            "modules": list(deploy.processes[name].modules),
            "control_socket": control_socket_for(config.control.socket_path, name),
            "scanner_shard": mine.scanner.shard if "scanner" in deploy.processes[name].modules else None,
            "listens": [f"{kind} {address}" for kind, address in listen_endpoints(own, name)],
            "routes": [{"peer": r.peer, "transport": r.transport, "address": r.address,
                        "dials": r.dial, "reason": r.reason} for r in plan_routes(own, name)],
        }
    return plan


def _print_plan(plan: dict) -> None:
    print(f"host {plan['host']}: {len(plan['processes'])} process(es)")
    for name, proc in plan["processes"].items():
        shard = f", scanner shard {proc['scanner_shard']}" if proc["scanner_shard"] else ""
        print(f"  {name}: {', '.join(proc['modules'])}{shard}")
        print(f"    control socket {proc['control_socket']}")
        for listen in proc["listens"]:
            print(f"    listens on {listen}")
        for route in proc["routes"]:
            how = "dials" if route["dials"] else "is dialled by"
            print(f"    {how} {route['peer']} over {route['transport']} {route['address']} ({route['reason']})")


def _status(config, host: str, names: list[str]) -> dict:
    from mevbot.control.client import send_command
    from mevbot.control.errors import ControlError
    from mevbot.deploy.placement import control_socket_for

    path = status_path(config, host)
    try:
        supervisor = json.loads(path.read_text())
    except (OSError, ValueError):
        supervisor = {"processes": {}}
    out = {"host": host, "supervisor_pid": supervisor.get("pid"), "processes": {}}
    for name in names:
        socket_path = control_socket_for(config.control.socket_path, name)
        entry = {"supervisor": supervisor["processes"].get(name), "control_socket": socket_path}
        try:
            reply = send_command(socket_path, "status", timeout_s=config.control.request_timeout_s)
            entry["health"] = reply.get("health")
            entry["pid"] = reply.get("pid")
            entry["modules"] = {m["name"]: m["state"] for m in reply.get("modules", [])}
            try:
                entry["peers"] = send_command(socket_path, "peers", timeout_s=2.0).get("peers")
            except ControlError:
                entry["peers"] = None
        except ControlError as exc:
            entry["error"] = str(exc)
        out["processes"][name] = entry
    return out


def _print_status(status: dict) -> None:
    pid = status["supervisor_pid"]
    print(f"host {status['host']}: supervisor {'pid ' + str(pid) if pid else 'not running'}")
    for name, entry in status["processes"].items():
        sup = entry.get("supervisor") or {}
        line = f"  {name}: {sup.get('state', '?')}, restarts {sup.get('restarts', 0)}"
        if sup.get("last_exit"):
            line += f", last exit: {sup['last_exit']}"
        print(line)
        if "error" in entry:
            print(f"    control socket: {entry['error']}")
            continue
        health = entry["health"] or {}
        print(f"    pid {entry['pid']}, health {health.get('state')}"
              + (f" ({health['reason']})" if health.get("reason") else ""))
        print("    modules: " + ", ".join(f"{m} {s}" for m, s in entry["modules"].items()))
        for peer in entry.get("peers") or []:
            print(f"    peer {peer['peer']}: {'connected' if peer['connected'] else 'NOT CONNECTED'} "
                  f"({peer['where']})")


def handle_up(args: argparse.Namespace) -> int:
    from mevbot.config.errors import ConfigError
    from mevbot.config.reload import ConfigReloader
    from mevbot.deploy.errors import DeployError
    from mevbot.deploy.placement import deployment_problems, processes_on_host, this_host

    try:
        reloader = ConfigReloader(args.config, overrides=args.overrides)
    except ConfigError as exc:
        from mevbot.cli.run import print_config_error

        return print_config_error(exc)
    config = reloader.current
    deploy = config.deploy
    if not deploy.processes:
        return _fail("the config places no processes ([deploy.processes] is empty): nothing to bring "
                     "up; run everything in one process with `mevbot run`")
    problems = deployment_problems(config)
    if problems:
        return _fail(f"invalid placement ({len(problems)} problem(s)):", problems)
    try:
        host = this_host(deploy, args.host)
        names = processes_on_host(deploy, host)
    except DeployError as exc:
        return _fail(str(exc))
    if not names:
        return _fail(f"no process of [deploy.processes] is placed on host {host!r}")

    if args.check:
        plan = _plan(config, host, names, args)
        if plan is None:
            return 2  # a process's own config is invalid: load_process_config said why
        if args.json:
            print(json.dumps(plan, indent=1))
        else:
            _print_plan(plan)
        return 0
    if args.status:
        status = _status(config, host, names)
        if args.json:
            print(json.dumps(status, indent=1))
        else:
            _print_status(status)
        return 0 if all("error" not in e for e in status["processes"].values()) else 1
    return _supervise(config, reloader, host, names, args)


def _supervise(config, reloader, host: str, names: list[str], args) -> int:
    import logging

    import trio

    from mevbot.deploy.supervisor import Supervisor
    from mevbot.runtime.logs import configure_logging

    configure_logging(config.log)
    config_args = ["--config", str(Path(reloader.path).resolve())] if reloader.path is not None else []
    flags = [arg for override in args.overrides for arg in ("--set", override)]

    def argv_for(name: str) -> list[str]:
        return [sys.executable, "-m", "mevbot", "run", "--process", name, *config_args, *flags]

    deploy = config.deploy
    supervisor = Supervisor(names, argv_for, backoff_s=deploy.restart_backoff_s,
                            backoff_max_s=deploy.restart_backoff_max_s,
                            stable_after_s=deploy.stable_after_s,
                            shutdown_deadline_s=config.runtime.shutdown_deadline_s + 5.0,
                            status_path=status_path(config, host))
    logging.getLogger("mevbot.deploy.up").info("up: host %s: starting %s", host, ", ".join(names))
    clean = trio.run(supervisor.run_until_signalled)
    return 0 if clean else 1
