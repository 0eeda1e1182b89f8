"""The dead letter queue: undeliverable, undecodable and expired messages, with reasons.

Bounded in memory (the oldest letters go first, counted); ``mevbot ctl dlq list|replay|purge``
reads and manages it through :mod:`mevbot.bus.control`. A letter keeps the envelope when there
is one (replay republishes it with its original id, so receivers still deduplicate) and the raw
frame when decoding failed (those can be listed and purged, not replayed).
"""

from __future__ import annotations

import collections
import itertools
import logging
import time

import attrs

from mevbot.bus.envelope import Envelope, format_id

log = logging.getLogger("mevbot.bus.dlq")


@attrs.frozen
class DeadLetter:
    seq: int
    reason: str
    dead_ns: int
    envelope: Envelope | None = None
    raw: bytes | None = None
    origin: str = ""  # the connection or subscription where it died

    def summary(self) -> dict:
        env = self.envelope
        return {
            "seq": self.seq, "reason": self.reason, "dead_ns": self.dead_ns, "origin": self.origin,
            "id": format_id(env.id) if env else None, "topic": env.topic if env else None,
            "tag": env.tag if env else None, "source": env.source if env else None,
            "created_ns": env.created_ns if env else None,
            "raw_bytes": len(self.raw) if self.raw is not None else None,
            "raw_head": self.raw[:32].hex() if self.raw is not None else None,
            "replayable": env is not None,
        }


class DeadLetterQueue:
    def __init__(self, maxlen: int = 10_000) -> None:
        self._letters: collections.OrderedDict[int, DeadLetter] = collections.OrderedDict()
        self._seq = itertools.count(1)
        self.maxlen = maxlen
        self.total = 0
        self.evicted = 0
        self.by_reason: collections.Counter[str] = collections.Counter()

    def add(self, reason: str, *, envelope: Envelope | None = None, raw: bytes | None = None,
            origin: str = "") -> DeadLetter:
        letter = DeadLetter(next(self._seq), reason, time.time_ns(), envelope, raw, origin)
        self._letters[letter.seq] = letter
        self.total += 1
        self.by_reason[reason.split(":")[0]] += 1
        if len(self._letters) > self.maxlen:
            self._letters.popitem(last=False)
            self.evicted += 1
        if self.total <= 10 or self.total % 1000 == 0:  # one line per burst, not per message
            log.warning("dead letter #%d (%d so far) from %s: %s", letter.seq, self.total,
                        origin or "?", reason)
        return letter

    def __len__(self) -> int:
        return len(self._letters)

    def list(self, limit: int = 50) -> list[DeadLetter]:
        return list(self._letters.values())[-limit:] if limit else list(self._letters.values())

    def take(self, seqs: list[int] | None = None) -> list[DeadLetter]:
        """Remove and return the given letters (all when ``seqs`` is None), oldest first."""
        if seqs is None:
            taken = list(self._letters.values())
            self._letters.clear()
            return taken
        return [self._letters.pop(s) for s in seqs if s in self._letters]

    def purge(self, seqs: list[int] | None = None) -> int:
        return len(self.take(seqs))

    def stats(self) -> dict:
        return {"queued": len(self._letters), "total": self.total, "evicted": self.evicted,
                "by_reason": dict(self.by_reason)}
