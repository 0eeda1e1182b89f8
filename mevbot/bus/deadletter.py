"""The dead letter queue: undeliverable, undecodable and expired messages, with reasons.

Bounded (the oldest letters go first, counted); ``mevbot ctl dlq list|replay|purge`` reads and
manages it through :mod:`mevbot.bus.control`. Where the process has a bus journal (SQLite,
mevbot/bus/journal.py) the letters are kept there too and loaded again at start, so a restart
loses none: new letters are written in one transaction per :meth:`DeadLetterQueue.flush` (the bus
flushes every 0.2 s and at shutdown), so a burst of thousands costs one commit, not thousands;
a crash loses at most the letters of that last fraction of a second. A letter keeps the envelope when there
is one (replay republishes it with its original id, so receivers still deduplicate) and the raw
frame when decoding failed (those can be listed and purged, not replayed).
"""

from __future__ import annotations

import collections
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

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
        self.restored = 0  # letters loaded from the journal at start
        self._journal: Any = None
        self._encode: Callable[[Envelope], bytes] | None = None
        self._unsaved: list[DeadLetter] = []
        self._evicted_through = 0  # the newest seq the bound pushed out since the last flush

    def attach(self, journal: Any, codec: Any) -> None:
        """Keep the letters in ``journal`` from now on, and load the ones it holds from a
        previous run (their envelopes decoded with ``codec``; one that no longer decodes stays
        as its raw frame, listable and purgeable, not replayable)."""
        self._journal, self._encode = journal, codec.encode
        rows = journal.dead_letters(self.maxlen)
        for seq, reason, dead_ns, origin, is_envelope, data in rows:
            envelope = raw = None
            if is_envelope:
                try:
                    envelope = codec.decode(data)
                except Exception as exc:  # a type no longer registered, a schema gone: keep the bytes
                    raw, reason = data, f"{reason} (its envelope no longer decodes: {exc})"
            else:
                raw = data
            self._letters[seq] = DeadLetter(seq, reason, dead_ns, envelope, raw, origin)
        self._letters = collections.OrderedDict(sorted(self._letters.items()))
        newest = max(self._letters, default=0)
        self._seq = itertools.count(newest + 1)
        self.restored = len(rows)
        if rows:
            log.warning("%d dead letter(s) kept from before this start (`mevbot ctl dlq list`)", len(rows))

    def flush(self) -> None:
        """Write the letters added since the last flush (and forget evicted ones) to the journal."""
        if self._journal is None or not (self._unsaved or self._evicted_through):
            return
        rows = []
        for letter in self._unsaved:
            if letter.seq not in self._letters:
                continue  # evicted or taken before it was ever saved
            data = letter.raw
            if letter.envelope is not None:
                try:
                    data = self._encode(letter.envelope)
                except Exception:  # e.g. a payload the codec cannot encode: keep the reason only
                    data = None
            rows.append((letter.seq, letter.reason, letter.dead_ns, letter.origin,
                         int(letter.envelope is not None and data is not None), data))
        self._journal.save_dead_letters(rows, self._evicted_through)
        self._unsaved.clear()
        self._evicted_through = 0

    def add(self, reason: str, *, envelope: Envelope | None = None, raw: bytes | None = None,
            origin: str = "") -> DeadLetter:
        letter = DeadLetter(next(self._seq), reason, time.time_ns(), envelope, raw, origin)
        self._letters[letter.seq] = letter
        self.total += 1
        self.by_reason[reason.split(":")[0]] += 1
        if self._journal is not None:
            self._unsaved.append(letter)
        if len(self._letters) > self.maxlen:
            oldest, _ = self._letters.popitem(last=False)
            self._evicted_through = max(self._evicted_through, oldest)
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
        else:
            taken = [self._letters.pop(s) for s in seqs if s in self._letters]
        if self._journal is not None and taken:
            self._journal.delete_dead_letters(None if seqs is None else [t.seq for t in taken])
        return taken

    def purge(self, seqs: list[int] | None = None) -> int:
        return len(self.take(seqs))

    def stats(self) -> dict:
        return {"queued": len(self._letters), "total": self.total, "evicted": self.evicted,
                "restored": self.restored, "persisted": self._journal is not None,
                "by_reason": dict(self.by_reason)}
