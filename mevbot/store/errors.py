"""The data store's exceptions."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the data store's errors."""


class MigrationError(StoreError):
    """A schema migration failed, or the database is newer than this code understands."""


class UnknownTableError(StoreError):
    """A table name that the store does not have (the message lists the ones it has)."""

    def __init__(self, table: str, known: list[str]) -> None:
        super().__init__(f"no table {table!r} in the store; expected one of: {', '.join(known)}")
        self.table = table
        self.known = known


class TimeParseError(StoreError):
    """A --since value that is neither ISO-8601 nor unix seconds."""
