"""Settings of the local devnet ([devnet])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class DevnetSettings:
    home: str = setting(".devnet", doc="Project-local folder for the saved chain state, logs and the running devnet's status.")
    rpc_port: int = setting(8547, min=0, max=65535, doc="Loopback port of anvil's JSON-RPC (HTTP and WebSocket); 0 picks a free one.")
    feed_port: int = setting(9642, min=0, max=65535, doc="Loopback port of the Nitro-format feed relay; 0 picks a free one.")
    manifest: str = setting(".devnet/manifest.json", doc="Where `devnet up` writes the deployment manifest.")
    chain_id: int = setting(42161, min=1, doc="Chain id anvil runs with (Arbitrum One's by default).")
    block_time_ms: int = setting(250, min=10, doc="anvil's interval between blocks (Arbitrum One sequences about every 250 ms).")
    feed_backlog: int = setting(4096, min=1, doc="Messages the relay keeps to replay to a client that connects or resumes.")
    feed_confirm_interval_s: float = setting(1.0, gt=0, doc="How often the relay sends a confirmedSequenceNumberMessage.")
    feed_confirm_lag: int = setting(8, min=0, doc="The relay calls a sequence number confirmed once this many newer ones exist.")
    feed_sign: bool = setting(True, doc="Sign each feed message (signatureV2) with the devnet's public feed-signer test key.")
    traffic_rate_per_s: float = setting(2.0, gt=0, doc="Noise trades sent per second by `devnet traffic`.")
    traffic_seed: int = setting(1, doc="Seed of the noise traders; the same seed sends the same sequence of trades.")
    traffic_median_usd: float = setting(2000.0, gt=0, doc="Median size of a noise trade in USD (sizes are log-normal).")
    traffic_sigma: float = setting(1.0, min=0, doc="Spread (sigma of the log) of noise-trade sizes.")
    traffic_max_usd: float = setting(60000.0, gt=0, doc="Largest noise trade in USD.")
