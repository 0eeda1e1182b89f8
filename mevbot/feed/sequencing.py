"""Which copy of a feed message counts: ordering, duplicates, gaps and reorgs. Pure, no I/O.

Nitro numbers every message; the client sees the same numbers from one or more feeds and
after every reconnect (it asks to resume from the last number it saw, so that one comes
again). :class:`SequenceTracker` keeps the watermark (the highest accepted number), the
block hash of each recent number, and the numbers it has found missing, and classifies each
arrival:

* NEW: the next number, or a jump ahead (then the skipped range is reported as a gap);
* DUPLICATE: a number already accepted with the same block hash (a slower feed's copy, or
  the replay after a reconnect); dropped;
* REORG: a number already accepted but with another block hash: the sequencer re-sent it;
  everything above it is forgotten and the watermark moves back to it;
* GAP_FILL: a number reported missing that arrives late (another feed had it); accepted;
* STALE: older than the remembered window; dropped.

It also keeps per-feed figures: copies won (first to arrive) and how far behind the first
copy each duplicate arrived.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs


class Verdict(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    REORG = "reorg"
    GAP_FILL = "gap_fill"
    STALE = "stale"


@attrs.frozen
class Arrival:
    verdict: Verdict
    gap: tuple[int, int] | None = None  # (first, last) missing numbers revealed by this arrival
    previous_hash: bytes | None = None  # for a REORG: the block hash it replaces

    @property
    def publish(self) -> bool:
        return self.verdict in (Verdict.NEW, Verdict.REORG, Verdict.GAP_FILL)


@attrs.define
class FeedStats:
    """What one feed URL did; the lag samples are the last ``LAG_SAMPLES`` copies."""

    LAG_SAMPLES = 2048

    url: str
    connects: int = 0
    disconnects: int = 0
    connected: bool = False
    frames: int = 0
    messages: int = 0
    wins: int = 0  # messages this feed delivered first
    duplicates: int = 0
    decode_errors: int = 0
    signature_rejections: int = 0
    lag_ns: deque = attrs.field(factory=lambda: deque(maxlen=FeedStats.LAG_SAMPLES))

    def lag_percentiles_us(self) -> dict[str, float | None]:
        """p50/p99/max of how far behind the first copy this feed's copies arrived (0 = won)."""
        samples = sorted(self.lag_ns)
        if not samples:
            return {"p50": None, "p99": None, "max": None}

        def pick(q: float) -> float:
            return samples[min(len(samples) - 1, int(q * len(samples)))] / 1000

        return {"p50": pick(0.5), "p99": pick(0.99), "max": samples[-1] / 1000}

    def summary(self) -> dict:
        return {
            "url": self.url, "connected": self.connected, "connects": self.connects,
            "disconnects": self.disconnects, "frames": self.frames, "messages": self.messages,
            "wins": self.wins, "duplicates": self.duplicates, "decode_errors": self.decode_errors,
            "signature_rejections": self.signature_rejections, "lag_behind_first_us": self.lag_percentiles_us(),
        }


class SequenceTracker:
    """Classifies arrivals of sequence numbers (see the module docstring)."""

    def __init__(self, last_sequence_number: int | None = None, *, window: int = 4096) -> None:
        self.last_sequence_number = last_sequence_number  # the resume watermark
        self.window = window
        self._recent: dict[int, tuple[bytes | None, int]] = {}  # seq -> (block hash, first arrival ns)
        self._missing: set[int] = set()
        self.gaps = 0
        self.reorgs = 0

    @property
    def missing(self) -> frozenset[int]:
        return frozenset(self._missing)

    def observe(self, seq: int, block_hash: bytes | None, now_ns: int, stats: FeedStats | None = None) -> Arrival:
        last = self.last_sequence_number
        recent = self._recent
        if last is None or seq > last:
            gap = None
            if last is not None and seq > last + 1:
                gap = (last + 1, seq - 1)
                self.gaps += 1
                if seq - last - 1 <= self.window:
                    self._missing.update(range(last + 1, seq))
            self.last_sequence_number = seq
            self._remember(seq, block_hash, now_ns, stats)
            return Arrival(Verdict.NEW, gap=gap)
        seen = recent.get(seq)
        if seen is not None:
            known_hash, first_ns = seen
            if known_hash == block_hash or known_hash is None or block_hash is None:
                if stats is not None:
                    stats.duplicates += 1
                    stats.lag_ns.append(max(0, now_ns - first_ns))
                return Arrival(Verdict.DUPLICATE)
            self.reorgs += 1
            for later in [s for s in recent if s > seq]:
                del recent[later]
            self._missing = {s for s in self._missing if s < seq}
            self.last_sequence_number = seq
            self._remember(seq, block_hash, now_ns, stats)
            return Arrival(Verdict.REORG, previous_hash=known_hash)
        if seq in self._missing:
            self._missing.discard(seq)
            self._remember(seq, block_hash, now_ns, stats)
            return Arrival(Verdict.GAP_FILL)
        return Arrival(Verdict.STALE)

    def _remember(self, seq: int, block_hash: bytes | None, now_ns: int, stats: FeedStats | None) -> None:
        recent = self._recent
        recent[seq] = (block_hash, now_ns)
        while len(recent) > self.window:  # insertion order is arrival order: drop the oldest
            del recent[next(iter(recent))]
        if len(self._missing) > self.window:
            self._missing = set(sorted(self._missing)[-self.window :])
        if stats is not None:
            stats.wins += 1
            stats.lag_ns.append(0)
