"""What the pipeline publishes on ``pools.state``: the new state of the pools that changed.

Each entry carries one pool's state as the scanner should see it (confirmed plus pending
intents), and the message names what changed it: a feed position (a decoded swap intent, before
any receipt) or a block (logs, a refetch). Plain attrs, no bus imports.
"""

from __future__ import annotations

import attrs

from mevbot.pricing.v2 import V2PoolState
from mevbot.pricing.v3_pool import V3PoolState

TOPIC_POOL_STATE = "pools.state"  # outside market.#, which the pipeline itself consumes


@attrs.frozen
class PoolStateEntry:
    address: str
    v2: V2PoolState | None = None
    v3: V3PoolState | None = None

    @property
    def state(self) -> V2PoolState | V3PoolState:
        return self.v2 if self.v2 is not None else self.v3

    @classmethod
    def of(cls, address: str, state: V2PoolState | V3PoolState) -> PoolStateEntry:
        if isinstance(state, V2PoolState):
            return cls(address, v2=state)
        return cls(address, v3=state)


@attrs.frozen
class PoolStateChange:
    entries: tuple[PoolStateEntry, ...]
    block_number: int
    seq: int | None = None  # feed position of the intent that caused it, if any
    tx_index: int | None = None
    trigger_tx: str | None = None
    cause: str = "update"  # "snapshot" | "update" | "intent" | "refetch"
