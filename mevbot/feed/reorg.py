"""A feed reorg: the sequencer re-sent a sequence number with another block hash.

Nitro's feed can replace messages it already broadcast (a sequencer failover or a reorg). The
monitor publishes :class:`FeedReorg` on ``feed.reorg`` *before* the new version of that block on
``feed.block``; the parser passes it on, in order with its swap intents, as ``market.feed.reorg``,
so the pipeline forgets the speculative state of every intent from ``sequence_number`` on before
it applies the new version's intents.
"""

from __future__ import annotations

import attrs

TOPIC_FEED_REORG = "feed.reorg"
TOPIC_MARKET_REORG = "market.feed.reorg"


@attrs.frozen
class FeedReorg:
    sequence_number: int  # the first sequence number whose block was replaced
    old_block_hash: bytes | None
    new_block_hash: bytes | None
