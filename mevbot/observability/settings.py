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
    alert_interval_s: float = setting(300.0, gt=0, reloadable=True,
                                      doc="At most one alert of each kind per this many seconds; "
                                          "the next one says how many were held back.")
    alert_timeout_s: float = setting(5.0, gt=0, reloadable=True, doc="Deadline of one webhook POST.")
    check_interval_s: float = setting(5.0, gt=0, reloadable=True,
                                      doc="How often the alert conditions (feed, endpoints, dead letters, "
                                          "emergency stop) are checked.")
    feed_stall_s: float = setting(30.0, gt=0, reloadable=True,
                                  doc="Alert when no feed block has arrived for this long.")
    dead_letter_alert: int = setting(100, min=1, reloadable=True,
                                     doc="Alert when this many dead letters were added within one check interval.")
