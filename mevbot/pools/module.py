"""The pipeline module (swaps in, live pool state out). Placeholder: its real work is another issue."""

from __future__ import annotations

import trio

from mevbot.runtime.module import Module, ModuleContext
from mevbot.runtime.placeholder import idle_until_implemented


class PipelineModule(Module):
    name = "pipeline"
    section = "pipeline"
    depends_on = ("parser",)

    async def run(self, ctx: ModuleContext, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await idle_until_implemented(ctx, task_status)
