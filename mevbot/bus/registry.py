"""Message registration: a stable type tag and schema version for each attrs message class.

Registration is external to the message class so that domain packages never import the bus:
``mevbot/bus/catalog.py`` calls :func:`register_message` for each class. A hot type may add a
hand-written binary layout (``pack``/``unpack``); every other type goes through the shared
cattrs JSON converter. An ``upgrade`` hook lets a newer process read an older schema version.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from mevbot.bus.errors import RegistrationError, UnknownMessageType

_TAG_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


@attrs.frozen
class MessageType:
    cls: type
    tag: str
    version: int
    pack: Callable[[Any], bytes] | None = None
    unpack: Callable[[bytes], Any] | None = None
    upgrade: Callable[[dict, int], dict] | None = None


class MessageRegistry:
    """Tag <-> class mapping used by the codec and by ``Bus.publish``."""

    def __init__(self) -> None:
        self._by_tag: dict[str, MessageType] = {}
        self._by_cls: dict[type, MessageType] = {}

    def register(self, cls: type, tag: str, version: int = 1, *,
                 pack: Callable[[Any], bytes] | None = None,
                 unpack: Callable[[bytes], Any] | None = None,
                 upgrade: Callable[[dict, int], dict] | None = None) -> MessageType:
        if not attrs.has(cls):
            raise RegistrationError(f"cannot register {cls!r} as {tag!r}: expected an attrs class")
        if not _TAG_RE.match(tag) or len(tag) > 255:
            raise RegistrationError(f"type tag {tag!r} of {cls.__qualname__} is invalid: expected "
                                    "lowercase dot-separated words, e.g. 'market.swap.intent'")
        if version < 1 or version > 65535:
            raise RegistrationError(f"schema version {version} of {tag!r} is out of range 1..65535")
        if (pack is None) != (unpack is None):
            raise RegistrationError(f"{tag!r}: a binary layout needs both pack and unpack")
        entry = MessageType(cls, tag, version, pack, unpack, upgrade)
        existing = self._by_tag.get(tag)
        if existing is not None and existing.cls is not cls:
            raise RegistrationError(f"type tag {tag!r} is already registered to "
                                    f"{existing.cls.__qualname__}; cannot also map {cls.__qualname__}")
        other = self._by_cls.get(cls)
        if other is not None and other.tag != tag:
            raise RegistrationError(f"{cls.__qualname__} is already registered as {other.tag!r}")
        self._by_tag[tag] = entry
        self._by_cls[cls] = entry
        return entry

    def for_class(self, cls: type) -> MessageType:
        try:
            return self._by_cls[cls]
        except KeyError:
            raise RegistrationError(f"{cls.__qualname__} is not a registered message class; "
                                    "register it in mevbot/bus/catalog.py") from None

    def for_tag(self, tag: str) -> MessageType:
        try:
            return self._by_tag[tag]
        except KeyError:
            raise UnknownMessageType(f"unknown type tag {tag!r}: not registered in this process") from None

    def tags(self) -> list[str]:
        return sorted(self._by_tag)


MESSAGES = MessageRegistry()
"""The process-wide registry; ``Bus`` uses it unless given another."""


def register_message(cls: type, tag: str, version: int = 1, **layout: Any) -> type:
    """Register ``cls`` in the process-wide registry; returns ``cls`` (usable as a decorator)."""
    MESSAGES.register(cls, tag, version, **layout)
    return cls
