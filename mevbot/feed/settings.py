"""Settings of the market monitor ([monitor])."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class MonitorSettings:
    enabled: bool = setting(True, doc="Run the market monitor.")
    feed_urls: list[str] = setting(factory=lambda: ["ws://127.0.0.1:9642/feed"], pattern=r"wss?://", doc="Nitro feed URLs; the fastest copy of each message wins.")
    chain_id: int = setting(42161, min=1, doc="Chain id for signed-envelope and feed-signature checks.")
    verify_signers: list[str] = setting(factory=list, doc="If set, drop feed messages whose signatureV2 is not from one of these.")
    replay: str = setting("", doc="A recording (from `mevbot record`) to publish instead of the live feed and chain, one event at a time, each once every process has settled; the pipeline starts from its pool state. Empty = live. See docs/replay.md.")
    replay_settle_timeout_s: float = setting(30.0, gt=0, doc="Replay: how long one event may take to settle in every process before the replay goes on regardless (logged as an error).")

    def config_problems(self) -> Iterable[tuple[str, object, str]]:
        for i, signer in enumerate(self.verify_signers):
            raw = signer[2:] if signer[:2] in ("0x", "0X") else signer
            if len(raw) != 40 or any(c not in "0123456789abcdefABCDEF" for c in raw):
                yield f"verify_signers.{i}", signer, "a 0x-prefixed 20-byte hex address"
