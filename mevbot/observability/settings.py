"""Settings of metrics, alerts and the dashboard ([observability])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ObservabilitySettings:
    enabled: bool = setting(False, doc="Serve metrics and the dashboard.")
    metrics_port: int = setting(9108, min=1, max=65535, doc="Prometheus exposition port on loopback.")
    dashboard_port: int = setting(8088, min=1, max=65535, doc="Dashboard port on loopback.")
    dashboard_token: str = setting("", doc="Token protecting the dashboard's actions.", secret=True)
    alert_webhook: str = setting("", doc="URL that receives alerts as JSON (empty: log only).", secret=True)
