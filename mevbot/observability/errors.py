"""The observability package's exceptions."""

from __future__ import annotations


class ObservabilityError(Exception):
    """Base of the observability package's errors."""


class UnknownStageError(ObservabilityError, ValueError):
    """A latency observed for a pipeline stage that is not one of :data:`metrics.STAGES`."""


class MetricsServerError(ObservabilityError):
    """The metrics endpoint could not listen (the port is taken, or not ours to bind)."""
