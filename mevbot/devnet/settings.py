"""Settings of the local devnet ([devnet])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class DevnetSettings:
    home: str = setting(".devnet", doc="Project-local folder for npm packages, state and logs.")
    rpc_port: int = setting(8547, min=1, max=65535, doc="Loopback port of anvil's JSON-RPC (HTTP and WebSocket).")
    feed_port: int = setting(9642, min=1, max=65535, doc="Loopback port of the Nitro-format feed relay.")
    manifest: str = setting(".devnet/manifest.json", doc="Where `devnet up` writes the deployment manifest.")
