"""The body of a module whose real work is not written yet.

It is honest about it: it becomes ready, waits while paused, then reports itself healthy and
idle with the reason "idle: not implemented yet" until it is stopped.
"""

from __future__ import annotations

import trio

from mevbot.runtime.module import ModuleContext

IDLE_REASON = "idle: not implemented yet"


async def idle_until_implemented(ctx: ModuleContext, task_status=trio.TASK_STATUS_IGNORED) -> None:
    task_status.started()
    await ctx.gate.wait_open()
    ctx.health.ok(IDLE_REASON)
    await trio.sleep_forever()
