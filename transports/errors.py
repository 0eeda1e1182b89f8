"""Transport errors: each says which connection, what was wrong, and what was expected."""

from __future__ import annotations


class TransportError(Exception):
    """Base class of every transport error."""


class FrameError(TransportError):
    """A peer sent an oversize, truncated or garbage frame; that one connection is closed."""


class HandshakeError(TransportError):
    """A peer did not speak our preamble or could not prove the shared secret."""


class StreamClosed(TransportError):
    """The stream was closed (by us or by the peer) cleanly; no more messages will arrive."""


class ConnectFailed(TransportError):
    """Could not reach the address (refused, unknown, or no listener of that name)."""
