"""`mevbot run`: run the bot (all modules, those named, or one process of a placement) here.

Plain `mevbot run` is monolithic whatever [deploy] says: every module in this process, talking
over the memory transport. `mevbot run --process NAME` runs only the modules [deploy] places in
process NAME, with that process's overrides and its own control socket, and links its bus to
the other processes as the router plans (Unix socket on the same host, TCP across hosts). Every
peer must connect within [deploy] peer_timeout_s, or the process stops naming the missing ones.

With ``[monitor] replay = "PATH"`` (every process of a placement reads the same config) the bot
runs on a recording instead of the live feed and chain: every process answers the replaying
monitor's settle probes once its modules are up (mevbot/replay/settle.py), execution must be in
dry run, and a recording that cannot be read is refused before any module starts.
"""

from __future__ import annotations

import argparse
import sys

from mevbot.cli._common import add_config_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the bot in this process",
        description="Run the bot: start the modules in dependency order, serve the control socket, "
                    "reload the config on change, and stop gracefully on SIGINT/SIGTERM. "
                    "Exit codes: 0 clean shutdown, 1 runtime error (socket in use, forced shutdown, "
                    "a peer process unreachable), 2 invalid config or placement (or a [monitor] replay "
                    "recording that cannot be used).")
    add_config_option(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--modules", metavar="A,B", default=None,
                       help="run only these modules (comma-separated; their dependencies must be "
                            "listed too); default: every enabled module")
    which.add_argument("--process", metavar="NAME", default=None,
                       help="run process NAME of the [deploy] placement: its modules only, its bus "
                            "linked to the other processes (see docs/deployment.md)")
    parser.set_defaults(handler=handle_run)


def parse_module_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def print_config_error(exc) -> int:
    where = f" {exc.file}" if exc.file else ""
    print(f"mevbot: invalid config{where}:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2


def load_process_config(config_arg, overrides, process: str | None):
    """(reloader, config) for this process, or an exit code (2) after printing why not.

    For ``--process`` the config is read twice: once to find the process's overrides, then with
    them applied under the command line's own (``--set`` still wins), so hot reloads keep them.
    """
    from mevbot.config.errors import ConfigError
    from mevbot.config.reload import ConfigReloader

    try:
        reloader = ConfigReloader(config_arg, overrides=overrides)
        if process is None:
            return reloader
        from mevbot.deploy.errors import DeployError
        from mevbot.deploy.placement import deployment_problems, process_overrides

        try:
            mine = process_overrides(reloader.current, process)
        except DeployError as exc:
            print(f"mevbot run: {exc}", file=sys.stderr)
            return 2
        reloader = ConfigReloader(config_arg, overrides=[*mine, *overrides])
    except ConfigError as exc:
        return print_config_error(exc)
    problems = deployment_problems(reloader.current)
    if problems:
        print(f"mevbot run: invalid placement ({len(problems)} problem(s)):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    return reloader


def prepare_bot(config_arg, overrides, module_names, process: str | None = None):
    """The configured Bot, or an exit code (2) after printing why the config is unusable."""
    import attrs

    from mevbot.runtime.bot import Bot, make_bus
    from mevbot.runtime.errors import ModuleGraphError, UnknownModuleError
    from mevbot.runtime.logs import configure_logging
    from mevbot.runtime.registry import select_modules

    reloader = load_process_config(config_arg, overrides, process)
    if isinstance(reloader, int):
        return reloader
    config = reloader.current
    configure_logging(config.log)
    if config.monitor.replay:
        problem = replay_problem(config, process)
        if problem is not None:
            print(f"mevbot run: [monitor] replay: {problem}", file=sys.stderr)
            return 2
    elsewhere: list[str] = []
    if process is None:
        # monolithic: whatever [deploy] places, everything runs here over the memory transport
        bus = make_bus(attrs.evolve(config, deploy=attrs.evolve(config.deploy, processes={})))
    else:
        from mevbot.deploy.placement import modules_elsewhere, modules_of

        module_names = modules_of(config.deploy, process)
        elsewhere = modules_elsewhere(config.deploy, process)
        bus = make_bus(config, process)
    try:
        modules, disabled = select_modules(config, module_names)
        return Bot(config, modules, reloader=reloader, absent_ok=[*disabled, *elsewhere], bus=bus)
    except (ModuleGraphError, UnknownModuleError) as exc:
        print(f"mevbot: invalid config: {exc}", file=sys.stderr)
        return 2


def replay_problem(config, process: str | None) -> str | None:
    """Why this config cannot run its replay here (None: it can)."""
    from mevbot.replay.errors import RecordingError
    from mevbot.replay.source import READERS, load_replay

    if not config.execution.dry_run:
        return ("a recording is never traded: set [execution] dry_run = true (the default) "
                "to run on one")
    if process is not None:
        from mevbot.deploy.placement import modules_of

        if not set(modules_of(config.deploy, process)) & set(READERS):
            return None  # this process never opens the recording
    try:
        load_replay(config)
    except RecordingError as exc:
        return str(exc)
    return None


async def run_bot(bot) -> object:
    """``bot.run()``; when replaying, answer settle probes from the moment its modules are up."""
    import trio

    if not bot.config.monitor.replay:
        return await bot.run()
    from mevbot.replay.settle import serve_settle_probes

    reports = []
    async with trio.open_nursery() as nursery:
        async def run(task_status=trio.TASK_STATUS_IGNORED) -> None:
            try:
                reports.append(await bot.run(task_status=task_status))
            finally:
                nursery.cancel_scope.cancel()

        await nursery.start(run)
        await serve_settle_probes(bot.bus)
    return reports[0]


async def run_process(bot, process: str | None) -> tuple[object, str | None]:
    """Run ``bot``; for a placed process also check its peers. (report, fatal error or None)."""
    import trio

    if process is None:
        return await run_bot(bot), None
    from mevbot.deploy.errors import PeerUnreachable
    from mevbot.deploy.peers import await_peers, log as deploy_log, peer_report, peers_health
    from mevbot.deploy.placement import expected_peers

    deploy = bot.config.deploy
    expected = expected_peers(deploy, process)

    async def peers_command(args):
        return {"process": process, "peers": peer_report(bot.bus, expected)}

    bot.control.register("peers", peers_command, replace=True)
    bot.manager.health_sources["peers"] = lambda: peers_health(bot.bus, expected)
    fatal: list[str] = []

    async def check_peers() -> None:
        try:
            await await_peers(bot.bus, expected, timeout_s=deploy.peer_timeout_s)
        except PeerUnreachable as exc:
            deploy_log.error("process %s: %s; stopping", process, exc)
            fatal.append(str(exc))
            bot.request_stop()

    async def stop_when_orphaned(supervisor_pid: int) -> None:
        import os

        while os.getppid() == supervisor_pid:
            await trio.sleep(ORPHAN_POLL_S)  # polling the parent pid: the kernel sends no event for it
        deploy_log.warning("process %s: its supervisor (`mevbot up`, pid %d) is gone; stopping",
                           process, supervisor_pid)
        fatal.append(f"supervisor pid {supervisor_pid} is gone")
        bot.request_stop()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(check_peers)
        supervisor_pid = _supervisor_pid()
        if supervisor_pid is not None:
            nursery.start_soon(stop_when_orphaned, supervisor_pid)
        report = await run_bot(bot)
        nursery.cancel_scope.cancel()
    return report, (fatal[0] if fatal else None)


ORPHAN_POLL_S = 0.5


def _supervisor_pid() -> int | None:
    """The pid of the `mevbot up` that started this process (None when not started by one).

    Checked against our parent by the caller: a supervisor that died before we got here has
    already left us with another parent, and we stop at once."""
    import os

    from mevbot.deploy.supervisor import SUPERVISOR_PID_ENV

    text = os.environ.get(SUPERVISOR_PID_ENV, "")
    return int(text) if text.isdigit() else None


def handle_run(args: argparse.Namespace) -> int:
    import trio

    from mevbot.control.errors import ControlError

    bot = prepare_bot(args.config, args.overrides, parse_module_list(args.modules), args.process)
    if isinstance(bot, int):
        return bot
    try:
        try:
            report, fatal = trio.run(run_process, bot, args.process)
        except BaseExceptionGroup as group:  # from a nursery around the bot: one error, unwrapped
            while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
                group = group.exceptions[0]
            raise group from None
    except ControlError as exc:
        print(f"mevbot run: {exc}", file=sys.stderr)
        return 1
    if fatal is not None:
        print(f"mevbot run --process {args.process}: {fatal}", file=sys.stderr)
        return 1
    return 0 if report.clean else 1
