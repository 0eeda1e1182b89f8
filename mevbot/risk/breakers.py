"""Circuit breakers and the emergency stop: what halts execution, and for how long.

* A **breaker** trips after N consecutive failed or reverted executions, or when a pool's price
  moves more than a threshold within a window (abnormal volatility). It halts new executions
  with a reason and, if a cool-down is configured, resumes by itself after it.
* The **emergency stop** halts every new execution before its next send and is persisted in a
  small JSON file, so it survives a restart until an operator clears it (`mevbot ctl clear-stop`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import deque
from pathlib import Path

import attrs

from mevbot.risk.errors import RiskStateError

TOPIC_BREAKER = "risk.breaker"


@attrs.frozen
class BreakerTrip:
    reason: str
    tripped_at: float
    resume_at: float | None  # None: stays tripped until reset by hand


class CircuitBreaker:
    def __init__(self, *, max_consecutive_failures: int, cooldown_s: float,
                 volatility_window_s: float, max_pool_move_bps: int) -> None:
        self.max_consecutive_failures = max_consecutive_failures
        self.cooldown_s = cooldown_s
        self.volatility_window_s = volatility_window_s
        self.max_pool_move_bps = max_pool_move_bps
        self.consecutive_failures = 0
        self.trip: BreakerTrip | None = None
        self.trips = 0
        self._prices: dict[str, deque[tuple[float, int]]] = {}

    def halted(self, now: float) -> str | None:
        """The reason execution is halted, or None; a cooled-down trip resets here."""
        if self.trip is None:
            return None
        if self.trip.resume_at is not None and now >= self.trip.resume_at:
            self.reset()
            return None
        return f"circuit breaker: {self.trip.reason}"

    def reset(self) -> None:
        self.trip = None
        self.consecutive_failures = 0

    def record_execution(self, *, succeeded: bool, now: float) -> BreakerTrip | None:
        """Count an execution's outcome; returns the trip if this one tripped the breaker."""
        if succeeded:
            self.consecutive_failures = 0
            return None
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.max_consecutive_failures:
            return self._trip(f"{self.consecutive_failures} consecutive failed executions", now)
        return None

    def record_price(self, pool: str, price_x: int, *, now: float) -> BreakerTrip | None:
        """Track a pool's price (any fixed-point scale); trips on a move beyond the threshold."""
        window = self._prices.setdefault(pool.lower(), deque())
        while window and window[0][0] < now - self.volatility_window_s:
            window.popleft()
        window.append((now, price_x))
        prices = [p for _, p in window]
        lo, hi = min(prices), max(prices)
        if lo > 0 and (hi - lo) * 10_000 > self.max_pool_move_bps * lo:
            move = (hi - lo) * 10_000 // lo
            return self._trip(f"pool {pool} moved {move} bps within {self.volatility_window_s:g} s", now)
        return None

    def _trip(self, reason: str, now: float) -> BreakerTrip | None:
        if self.trip is not None:
            return None  # already tripped: one trip, one alert
        resume = now + self.cooldown_s if self.cooldown_s > 0 else None
        self.trip = BreakerTrip(reason, now, resume)
        self.trips += 1
        return self.trip


@attrs.frozen
class EmergencyStop:
    active: bool
    reason: str = ""
    since: float | None = None


class EmergencyStopStore:
    """The emergency stop, persisted atomically so that a restart keeps it in force."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._seen = self._stamp()
        self.current = self._load()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
            return (st.st_mtime_ns, st.st_ino)
        except OSError:
            return None

    def refresh(self) -> EmergencyStop:
        """Re-read the file if another process (or `mevbot ctl`) changed it; cheap otherwise."""
        stamp = self._stamp()
        if stamp != self._seen:
            self._seen = stamp
            self.current = self._load()
        return self.current

    def _load(self) -> EmergencyStop:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return EmergencyStop(False)
        except (OSError, ValueError) as exc:
            # An unreadable state file must not silently allow trading: stay stopped.
            return EmergencyStop(True, f"risk state file {self.path} is unreadable ({exc}); clear-stop to reset")
        if not isinstance(data, dict) or not isinstance(data.get("active"), bool):
            return EmergencyStop(True, f"risk state file {self.path} has an unexpected shape; clear-stop to reset")
        return EmergencyStop(data["active"], str(data.get("reason", "")), data.get("since"))

    def set(self, reason: str, now: float) -> EmergencyStop:
        return self._save(EmergencyStop(True, reason or "emergency stop", now))

    def clear(self) -> EmergencyStop:
        return self._save(EmergencyStop(False))

    def _save(self, stop: EmergencyStop) -> EmergencyStop:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({"active": stop.active, "reason": stop.reason, "since": stop.since})
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".risk-state-")
            with os.fdopen(fd, "w") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            self._seen = self._stamp()
        except OSError as exc:
            raise RiskStateError(f"cannot persist the emergency stop to {self.path}: {exc}") from exc
        self.current = stop
        return stop
