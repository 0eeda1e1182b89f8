"""When to alert (pure logic, no I/O, no trio): each check remembers what it last saw and says
what is newly wrong, so a condition that stays wrong alerts once, not on every check.

The alerter's per-kind rate limit is the second guard, against a condition that flaps.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Finding:
    kind: str
    message: str
    fields: dict = attrs.field(factory=dict)


@attrs.define
class FeedStall:
    """A feed that was flowing and has been silent for ``stall_s`` (alerts once per stall)."""

    stall_s: float
    last_block_at: float | None = None
    stalled: bool = False

    def block_arrived(self, now: float) -> None:
        self.last_block_at = now
        self.stalled = False

    def check(self, now: float) -> Finding | None:
        if self.last_block_at is None or self.stalled:
            return None
        silent = now - self.last_block_at
        if silent < self.stall_s:
            return None
        self.stalled = True
        return Finding("feed_stalled", f"no feed block for {silent:.0f}s (threshold {self.stall_s:g}s)",
                       {"silent_s": round(silent, 1)})


@attrs.define
class EndpointsDown:
    """RPC endpoints that went into cool-down since the last check (each alerts on going down)."""

    down: dict[str, set[str]] = attrs.field(factory=dict)  # client -> urls cooling down

    def check(self, client: str, stats: Iterable) -> list[Finding]:
        stats = list(stats)
        now_down = {s.url for s in stats if s.cooling_down}
        newly = sorted(now_down - self.down.get(client, set()))
        self.down[client] = now_down
        return [Finding("endpoint_down", f"RPC endpoint {url} ({client}) is down: {len(now_down)} of "
                        f"{len(stats)} endpoints cooling down",
                        {"endpoint": url, "client": client, "down": len(now_down), "endpoints": len(stats)})
                for url in newly]


@attrs.define
class DeadLetterGrowth:
    """More than ``threshold`` dead letters added since the previous check."""

    threshold: int
    last_total: int | None = None

    def check(self, total: int, queued: int) -> Finding | None:
        previous, self.last_total = self.last_total, total
        if previous is None:
            return None
        added = total - previous
        if added < self.threshold:
            return None
        return Finding("dead_letters_growing", f"{added} dead letters since the last check ({queued} queued)",
                       {"added": added, "queued": queued})


@attrs.define
class StopWatch:
    """The emergency stop being switched on (alerts once per activation)."""

    active: bool = False

    def check(self, active: bool, reason: str) -> Finding | None:
        was, self.active = self.active, active
        if active and not was:
            return Finding("emergency_stop", f"emergency stop in force: {reason}", {"reason": reason})
        return None
