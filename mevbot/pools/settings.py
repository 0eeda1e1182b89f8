"""Settings of the pool-state pipeline ([pipeline])."""

from __future__ import annotations

import attrs

from mevbot.config.fields import setting


@attrs.frozen
class PipelineSettings:
    enabled: bool = setting(True, doc="Keep live pool state from pool updates and swap intents.")
    v3_words_around: int = setting(2, min=0, max=64, doc="Tick-bitmap words fetched on each side of the current tick.")
