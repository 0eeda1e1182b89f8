"""Settings of the event parser ([parser])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ParserSettings:
    enabled: bool = setting(True, doc="Run the event parser.")
    manifest: str = setting(".devnet/manifest.json", doc="Deployment manifest naming routers, factories and pools.")
