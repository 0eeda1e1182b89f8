"""Control-socket commands served by the bus: `mevbot ctl dlq list|replay|purge` and `ctl routes`.

:func:`control_handlers` returns ``{command: async handler(args) -> dict}`` under the wire names
`mevbot ctl` sends (``dlq-list``, ``dlq-replay``, ``dlq-purge``, ``routes``);
:func:`register_control_commands` puts them on a running bot's ``ControlServer``. Dead letters
are named by their DLQ sequence number (``ids``, from ``--id``) and may be filtered by
``topic``. A request that does not fit is refused with :class:`CommandFailed` (an ``ok: false``
reply and one log line), never a traceback.
"""

from __future__ import annotations

import functools
from typing import Any

from mevbot.bus.errors import BusError
from mevbot.control.errors import CommandFailed

COMMANDS = ("dlq-list", "dlq-replay", "dlq-purge", "routes")


def _selected(bus, args: dict) -> list[int] | None:
    ids = args.get("ids")
    topic = args.get("topic")
    if ids is not None and (not isinstance(ids, list)
                            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise BusError(f"'ids' must be a list of dead-letter numbers (ints), got {ids!r}")
    if topic is not None and not isinstance(topic, str):
        raise BusError(f"'topic' must be a topic name (a string), got {topic!r}")
    if ids is None and topic is None:
        return None
    letters = bus.dlq.list(0)
    return [letter.seq for letter in letters
            if (ids is None or letter.seq in ids)
            and (topic is None or (letter.envelope is not None and letter.envelope.topic == topic))]


def _refusing_bus_errors(handler):
    @functools.wraps(handler)
    async def wrapper(args: dict) -> dict:
        try:
            return await handler(args)
        except BusError as exc:
            raise CommandFailed(str(exc)) from None
    return wrapper


def control_handlers(bus) -> dict[str, Any]:
    async def dlq_list(args: dict) -> dict:
        limit = args.get("limit", 50)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise BusError(f"'limit' must be a non-negative int (0 = all), got {limit!r}")
        wanted = _selected(bus, args)
        letters = [letter for letter in bus.dlq.list(0) if wanted is None or letter.seq in wanted]
        matching = len(letters)
        letters = letters[-limit:] if limit else letters
        return {"letters": [letter.summary() for letter in letters], "matching": matching,
                "stats": bus.dlq.stats()}

    async def dlq_replay(args: dict) -> dict:
        wanted = _selected(bus, args)
        kept = [letter.seq for letter in bus.dlq.list(0)
                if letter.envelope is None and (wanted is None or letter.seq in wanted)]
        replayed = await bus.replay(wanted)
        return {"replayed": replayed, "count": len(replayed), "not_replayable": kept,
                "stats": bus.dlq.stats()}

    async def dlq_purge(args: dict) -> dict:
        purged = bus.dlq.purge(_selected(bus, args))
        return {"purged": purged, "stats": bus.dlq.stats()}

    async def routes(args: dict) -> dict:
        return {"process": bus.process, "routes": bus.routes(), "stats": bus.stats()}

    handlers = {"dlq-list": dlq_list, "dlq-replay": dlq_replay, "dlq-purge": dlq_purge,
                "routes": routes}
    return {name: _refusing_bus_errors(fn) for name, fn in handlers.items()}


def register_control_commands(server, bus) -> None:
    """Serve the bus's commands on ``server`` (a :class:`mevbot.control.server.ControlServer`)."""
    for name, handler in control_handlers(bus).items():
        server.register(name, handler)
