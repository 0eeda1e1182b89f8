"""Settings of the event parser ([parser])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class ParserSettings:
    enabled: bool = setting(True, doc="Run the event parser.")
    manifest: str = setting(".devnet/manifest.json", doc="Deployment manifest naming routers, factories and pools.")
    registry_db: str = setting(
        ".devnet/pool-registry.sqlite",
        doc="SQLite file where the pool registry keeps discovered pools, token decimals/symbols and "
            "factory-scan progress, so a restart does not read them from the chain again "
            "(':memory:' keeps nothing).")
    max_multicall_depth: int = setting(
        3, doc="Deepest router multicall nesting decoded; deeper calldata is counted as malformed.")
