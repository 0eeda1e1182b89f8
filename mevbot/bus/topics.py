"""Hierarchical topics and wildcard patterns (pure logic, no I/O).

Topics are dot-separated segments (``market.swap.intent``). A pattern may use ``*`` for exactly
one segment and ``#`` for zero or more trailing-or-inner segments (AMQP semantics), so
``market.swap.*`` matches ``market.swap.intent`` and ``market.#`` matches ``market`` and every
topic below it. Matching is memoised per (pattern, topic) because the set of topics a process
sees is small and the hot path publishes the same few topics millions of times.
"""

from __future__ import annotations

import functools

from mevbot.bus.errors import TopicError


def validate_topic(topic: str) -> str:
    """Return ``topic`` if it is a concrete topic (no wildcards, no empty segment)."""
    if not topic or any(not seg or seg in ("*", "#") for seg in topic.split(".")):
        raise TopicError(f"topic {topic!r} is invalid: expected dot-separated non-empty segments "
                         "without wildcards, e.g. 'market.swap.intent'")
    return topic


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if every segment is non-empty; '*' and '#' must be whole segments."""
    segments = pattern.split(".") if pattern else [""]
    for seg in segments:
        if not seg or (seg not in ("*", "#") and ("*" in seg or "#" in seg)):
            raise TopicError(f"subscription pattern {pattern!r} is invalid at segment {seg!r}: "
                             "expected non-empty segments; '*' and '#' only as whole segments")
    return pattern


def _match(pattern: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    if not pattern:
        return not topic
    head = pattern[0]
    if head == "#":
        rest = pattern[1:]
        return any(_match(rest, topic[i:]) for i in range(len(topic) + 1))
    if not topic:
        return False
    if head == "*" or head == topic[0]:
        return _match(pattern[1:], topic[1:])
    return False


@functools.lru_cache(maxsize=65536)
def topic_matches(pattern: str, topic: str) -> bool:
    """True when ``topic`` falls under ``pattern`` (see the module docstring)."""
    if pattern == topic:
        return True
    return _match(tuple(pattern.split(".")), tuple(topic.split(".")))
