"""The execution engine's exceptions."""

from __future__ import annotations


class ExecutionError(Exception):
    """Base of the execution engine's errors."""


class ExecutorBuildError(ExecutionError):
    """The executor contract could not be compiled or its build could not be loaded."""


class KeyLoadError(ExecutionError):
    """The trading key could not be loaded; the message says what is missing (never the key)."""
