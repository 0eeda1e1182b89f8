"""The scanner module (pool state in, arbitrage opportunities out). Placeholder: its real work is another issue."""

from __future__ import annotations

import trio

from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.placeholder import idle_until_implemented


class ScannerModule(Module):
    name = "scanner"
    section = "scanner"
    depends_on = ("pipeline",)

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await idle_until_implemented(ctx, task_status)
