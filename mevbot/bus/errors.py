"""The bus's few exception classes; messages say what was wrong, where, and what was expected."""

from __future__ import annotations


class BusError(Exception):
    """Base class of every bus error."""


class MessageDecodeError(BusError):
    """A frame's bytes are not a valid envelope or payload (dead-lettered, never fatal)."""


class UnknownMessageType(MessageDecodeError):
    """A frame names a type tag (or tag/version) that this process has not registered."""


class RegistrationError(BusError):
    """A message class was registered twice, under a bad tag, or is not an attrs class."""


class TopicError(BusError):
    """A topic or subscription pattern is malformed (empty segment, misplaced wildcard)."""


class RequestTimeout(BusError):
    """No reply arrived for a request before its deadline."""


class NoResponder(BusError):
    """A request was published on a topic that no one serves."""


class PlacementError(BusError):
    """The [deploy] placement is inconsistent (unknown host, process or module)."""


class JournalError(BusError):
    """The critical-topic journal (SQLite) could not be opened or written."""
