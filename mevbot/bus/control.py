"""Control-socket commands served by the bus: `mevbot ctl dlq list|replay|purge` and `ctl routes`.

:func:`control_handlers` returns ``{command: async handler(args) -> dict}`` for
``ControlServer.register``. Dead letters are named by their DLQ sequence number (``--id``), and
may be filtered by ``topic``. Commands are registered under both spellings the tree uses
(``dlq.list`` and the CLI's wire name ``dlq-list``).
"""

from __future__ import annotations

from typing import Any

from mevbot.bus.errors import BusError


def _selected(bus, args: dict) -> list[int] | None:
    ids = args.get("ids")
    topic = args.get("topic")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
        raise BusError(f"'ids' must be a list of dead-letter numbers (ints), got {ids!r}")
    if ids is None and topic is None:
        return None
    letters = bus.dlq.list(0)
    return [letter.seq for letter in letters
            if (ids is None or letter.seq in ids)
            and (topic is None or (letter.envelope is not None and letter.envelope.topic == topic))]


def control_handlers(bus) -> dict[str, Any]:
    async def dlq_list(args: dict) -> dict:
        limit = args.get("limit", 50)
        if not isinstance(limit, int) or limit < 0:
            raise BusError(f"'limit' must be a non-negative int, got {limit!r}")
        wanted = _selected(bus, args)
        letters = [letter for letter in bus.dlq.list(0) if wanted is None or letter.seq in wanted]
        letters = letters[-limit:] if limit else letters
        return {"letters": [letter.summary() for letter in letters], "stats": bus.dlq.stats()}

    async def dlq_replay(args: dict) -> dict:
        replayed = await bus.replay(_selected(bus, args))
        return {"replayed": replayed, "count": len(replayed), "stats": bus.dlq.stats()}

    async def dlq_purge(args: dict) -> dict:
        purged = bus.dlq.purge(_selected(bus, args))
        return {"purged": purged, "stats": bus.dlq.stats()}

    async def routes(args: dict) -> dict:
        return {"process": bus.process, "routes": bus.routes(), "stats": bus.stats()}

    handlers = {"dlq.list": dlq_list, "dlq.replay": dlq_replay, "dlq.purge": dlq_purge,
                "routes": routes}
    handlers.update({name.replace(".", "-"): fn for name, fn in handlers.items() if "." in name})
    return handlers
