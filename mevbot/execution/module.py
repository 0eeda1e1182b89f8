"""The execution module (approved trades in, transactions out). Placeholder: its real work is another issue."""

from __future__ import annotations

import trio

from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.placeholder import idle_until_implemented


class ExecutionModule(Module):
    name = "execution"
    section = "execution"
    depends_on = ("risk",)
    trades = True  # an emergency stop pauses it

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await idle_until_implemented(ctx, task_status)
