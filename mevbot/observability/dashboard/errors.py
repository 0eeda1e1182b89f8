"""The dashboard's exceptions."""

from __future__ import annotations

from mevbot.observability.errors import ObservabilityError


class DashboardError(ObservabilityError):
    """Base of the dashboard's errors."""


class BadDashboardMessage(DashboardError, ValueError):
    """A message from a dashboard client that is not a well-formed action."""


class ActionRefused(DashboardError):
    """A well-formed action the dashboard will not perform (missing or wrong token, none configured)."""
