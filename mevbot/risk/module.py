"""The risk module (opportunities in, approved trades out). Placeholder: its real work is another issue."""

from __future__ import annotations

import trio

from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.placeholder import idle_until_implemented


class RiskModule(Module):
    name = "risk"
    section = "risk"
    depends_on = ("scanner",)

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await idle_until_implemented(ctx, task_status)
