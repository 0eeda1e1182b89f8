"""The runtime's control commands: status, module lifecycle, reload and emergency stop.

Each handler takes the request's ``args`` and returns the reply's fields; a request that does not
fit (unknown module, wrong state) raises :class:`CommandFailed` with the runtime's message.
Other packages register their own commands on the same server (the bus adds ``dlq-*`` and
``routes``).
"""

from __future__ import annotations

import os
from typing import Any

from mevbot.control.errors import CommandFailed
from mevbot.control.render import module_row
from mevbot.control.server import ControlServer
from mevbot.risk.errors import RiskStateError
from mevbot.runtime.errors import RuntimeModuleError


def _module_arg(args: dict[str, Any]) -> str:
    name = args.get("module")
    if not isinstance(name, str) or not name:
        raise CommandFailed(f'"module" is {name!r}; expected a module name')
    return name


def register_runtime_commands(server: ControlServer, bot: Any) -> None:
    """Register the runtime's commands for ``bot`` (a :class:`mevbot.runtime.bot.Bot`)."""
    manager = bot.manager

    def rows() -> list[dict[str, Any]]:
        return [module_row(status) for status in manager.statuses()]

    async def status(args: dict[str, Any]) -> dict[str, Any]:
        health = manager.health()
        return {"health": {"state": health.state.value, "reason": health.reason}, "modules": rows(),
                "pid": os.getpid(), "uptime_s": bot.uptime_s(), "config_file": bot.config_file,
                "emergency_stop": bot.emergency_stopped, "disabled": list(manager.absent)}

    async def modules(args: dict[str, Any]) -> dict[str, Any]:
        return {"modules": rows()}

    def lifecycle(action: str):
        async def handler(args: dict[str, Any]) -> dict[str, Any]:
            name = _module_arg(args)
            if action == "resume" and bot.emergency_stopped and name in bot.trading_modules():
                raise CommandFailed(f"module {name} trades and the emergency stop is active; "
                                    "run `mevbot ctl clear-stop` to resume trading")
            try:
                method = getattr(manager, action)
                status = method(name)
                if hasattr(status, "__await__"):
                    status = await status
            except RuntimeModuleError as exc:
                raise CommandFailed(str(exc)) from None
            return {"module": module_row(status)}
        return handler

    async def reload(args: dict[str, Any]) -> dict[str, Any]:
        reply = bot.reload()
        if not reply.pop("ok"):
            raise CommandFailed(reply.pop("error"), **reply)
        return reply

    async def config(args: dict[str, Any]) -> dict[str, Any]:
        from mevbot.config.render import redacted

        return {"config": redacted(bot.config), "config_file": bot.config_file}

    async def emergency_stop(args: dict[str, Any]) -> dict[str, Any]:
        reason = args.get("reason", "")
        if not isinstance(reason, str):
            raise CommandFailed(f'"reason" is {reason!r}; expected text')
        try:
            paused = bot.emergency_stop(reason)
        except RiskStateError as exc:  # trading is paused here, but the stop would not survive a restart
            raise CommandFailed(f"trading paused, but the stop is not persisted: {exc}") from None
        return {"paused": paused, "emergency_stop": True}

    async def clear_stop(args: dict[str, Any]) -> dict[str, Any]:
        try:
            resumed = bot.clear_stop()
        except RiskStateError as exc:
            raise CommandFailed(f"the emergency stop stays in force: {exc}") from None
        return {"resumed": resumed, "emergency_stop": False}

    server.register("status", status)
    server.register("modules", modules)
    for action in ("start", "stop", "pause", "resume"):
        server.register(action, lifecycle(action))
    server.register("reload", reload)
    server.register("config", config)
    server.register("emergency-stop", emergency_stop)
    server.register("clear-stop", clear_stop)
