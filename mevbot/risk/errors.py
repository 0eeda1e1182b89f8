"""The risk manager's exceptions."""

from __future__ import annotations


class RiskError(Exception):
    """Base of the risk manager's errors."""


class RiskStateError(RiskError):
    """The persisted risk state (emergency stop) could not be written."""
