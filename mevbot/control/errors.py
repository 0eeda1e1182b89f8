"""Errors of the control socket: who is (not) listening, and what was wrong with a message."""

from __future__ import annotations


class ControlError(Exception):
    """Base of the control package's errors."""


class ControlUnavailable(ControlError):
    """No bot answers on the socket (nothing there, a stale file, or no permission)."""


class ControlSocketInUse(ControlError):
    """A live bot already listens on the socket path, so this one must not start."""


class ControlSocketPathError(ControlError):
    """The socket path cannot be used (not a socket, too long, or its folder cannot be made)."""


class BadControlMessage(ControlError):
    """A request or reply that is not one JSON object of the expected shape, or is too large."""


class CommandFailed(ControlError):
    """A command handler refusing a request; the server replies ``ok: false`` with this message.

    ``details`` are extra reply fields (for example the problem list of a rejected reload).
    """

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details
