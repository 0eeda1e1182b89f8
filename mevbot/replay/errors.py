"""Errors of record, replay and trace: each names the file (and line) and what was expected."""

from __future__ import annotations


class ReplayError(Exception):
    """Base class: a recording, replay or trace that cannot go on."""


class RecordingError(ReplayError):
    """A recording that is missing, unreadable, corrupt or truncated."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


class RecordError(ReplayError):
    """`mevbot record` could not start (no feed, no RPC, a pool it cannot read)."""


class TraceError(ReplayError):
    """`mevbot trace` was given something it cannot look up."""
