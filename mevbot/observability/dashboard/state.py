"""What the dashboard shows, folded from bus envelopes into one JSON-ready snapshot (pure).

:class:`DashboardState` keeps bounded windows only (the last opportunities and executions, the
last latency samples per stage, a PnL series thinned to a fixed number of points), so a bot that
runs for weeks holds the same few kilobytes. Nothing here does I/O or knows about trio: the
server feeds envelopes in, passes the clock and the module rows, and sends :meth:`snapshot` out.

Stage latency follows a trace: a ``feed.block`` starts a trace whose id the intent, opportunity,
risk decision and execution result inherit, so a stage's latency is that envelope's creation
time minus the feed block's (the same definition as the Prometheus histograms in
:mod:`mevbot.observability.module`); a stage read before its feed block waits for it (bounded).
A trace with no feed block (a message from a test or a replay) has no latency.

Amounts in wei are sent as decimal strings because a JavaScript number loses integers above
2**53; the PnL chart gets floats in ETH.
"""

from __future__ import annotations

import collections
import statistics
from typing import Any

#: topic -> pipeline stage measured from the feed block of the same trace.
STAGE_OF_TOPIC = {"market.swap.intent": "decoded", "arb.opportunity": "opportunity", "risk.decision": "risk",
                  "exec.result": "receipt"}
STAGES = tuple(STAGE_OF_TOPIC.values())
TOPICS = ("feed.block", "chain.head", *STAGE_OF_TOPIC)
#: Results that landed on chain, so paid gas (a "dropped" or "dry_run" one never did).
LANDED = ("succeeded", "reverted")
WEI_PER_ETH = 10**18


def _short(hex_text: str | None, keep: int = 6) -> str:
    if not hex_text:
        return ""
    return hex_text if len(hex_text) <= 2 * keep + 3 else f"{hex_text[:keep + 2]}…{hex_text[-keep:]}"


class DashboardState:
    """Bounded live state of one bot, see the module docstring."""

    def __init__(self, *, rows_kept: int = 25, latency_samples: int = 256, pnl_points: int = 400,
                 traces_kept: int = 10_000) -> None:
        self.opportunities: collections.deque[dict[str, Any]] = collections.deque(maxlen=rows_kept)
        self.executions: collections.deque[dict[str, Any]] = collections.deque(maxlen=rows_kept)
        self.latency_ms = {stage: collections.deque(maxlen=latency_samples) for stage in STAGES}
        self.pnl_points = pnl_points
        self.pnl_series: list[tuple[float, float]] = []  # (unix seconds, cumulative ETH)
        self.pnl_wei = 0
        self.traces_kept = traces_kept
        self._feed_started_ns: collections.OrderedDict[int, int] = collections.OrderedDict()
        self._early: collections.OrderedDict[int, list[tuple[str, int]]] = collections.OrderedDict()
        self.feed: dict[str, Any] | None = None
        self.feed_blocks = 0
        self.head: dict[str, Any] | None = None  # the RPC's view of the chain (chain.head)
        self.risk_counts: collections.Counter[str] = collections.Counter()
        self.opportunity_count = 0
        self.execution_counts: collections.Counter[str] = collections.Counter()
        self.version = 0  # bumped on every change the page would show

    # ---- folding envelopes -------------------------------------------------------------

    def observe(self, topic: str, payload: Any, *, created_ns: int, trace_id: int) -> None:
        """Fold one envelope in; raises ``AttributeError``/``TypeError`` for a payload of the wrong shape."""
        if topic == "feed.block":
            self._observe_feed(payload, created_ns, trace_id)
        elif topic == "chain.head":
            base_fee = payload.base_fee_per_gas
            self.head = {"number": int(payload.number), "timestamp": int(payload.timestamp),
                         "base_fee_per_gas": None if base_fee is None else str(base_fee)}
        else:
            stage = STAGE_OF_TOPIC.get(topic)
            started_ns = self._feed_started_ns.get(trace_id)
            if stage is not None and started_ns is not None:
                self.latency_ms[stage].append(max(0, created_ns - started_ns) / 1e6)
            elif stage is not None:
                self._remember_early(trace_id, stage, created_ns)
            if topic == "arb.opportunity":
                self._observe_opportunity(payload, created_ns)
            elif topic == "risk.decision":
                self.risk_counts["approved" if payload.approved else f"rejected: {payload.rule or 'other'}"] += 1
            elif topic == "exec.result":
                self._observe_result(payload, created_ns)
        self.version += 1

    def _remember_early(self, trace_id: int, stage: str, created_ns: int) -> None:
        # Each topic has its own subscription, so a later stage can be read before its feed block.
        self._early.setdefault(trace_id, []).append((stage, created_ns))
        if len(self._early) > self.traces_kept:
            self._early.popitem(last=False)

    def _observe_feed(self, block: Any, created_ns: int, trace_id: int) -> None:
        self._feed_started_ns[trace_id] = created_ns
        if len(self._feed_started_ns) > self.traces_kept:
            self._feed_started_ns.popitem(last=False)
        for stage, stage_ns in self._early.pop(trace_id, ()):
            self.latency_ms[stage].append(max(0, stage_ns - created_ns) / 1e6)
        self.feed_blocks += 1
        self.feed = {"sequence_number": int(block.sequence_number), "block_number": int(block.block_number),
                     "timestamp": int(block.timestamp), "transactions": len(block.transactions),
                     "received_ns": created_ns}

    def _observe_opportunity(self, opp: Any, created_ns: int) -> None:
        self.opportunity_count += 1
        route = [opp.route[0].token_in, *(hop.token_out for hop in opp.route)] if opp.route else []
        self.opportunities.appendleft({
            "time": created_ns / 1e9, "cycle_key": opp.cycle_key, "route": " → ".join(_short(t, 4) for t in route),
            "dexes": "/".join(hop.dex for hop in opp.route), "amount_in": str(opp.amount_in),
            "net_profit": str(opp.net_profit), "net_profit_wei": str(opp.net_profit_wei),
            "block_number": opp.block_number, "seq": opp.seq})

    def _observe_result(self, result: Any, created_ns: int) -> None:
        self.execution_counts[result.status] += 1
        gas = (result.gas_cost_wei or 0) if result.status in LANDED else 0
        self.executions.appendleft({
            "time": created_ns / 1e9, "request_id": result.request_id, "cycle_key": result.cycle_key,
            "status": result.status, "reason": result.reason, "expected_profit": str(result.expected_profit),
            "realised_profit": None if result.realised_profit is None else str(result.realised_profit),
            "gas_cost_wei": str(gas), "tx_hash": _short(result.tx_hash), "block_number": result.block_number})
        if result.status in LANDED:
            self.pnl_wei += (result.realised_profit or 0) - gas
            self.pnl_series.append((created_ns / 1e9, self.pnl_wei / WEI_PER_ETH))
            if len(self.pnl_series) > self.pnl_points:
                # Thin the older half to every other point: the chart keeps its whole history.
                half = len(self.pnl_series) // 2
                self.pnl_series = self.pnl_series[:half:2] + self.pnl_series[half:]

    # ---- the snapshot ---------------------------------------------------------------------

    def latency_summary(self) -> dict[str, dict[str, float | int | None]]:
        summary: dict[str, dict[str, float | int | None]] = {}
        for stage, samples in self.latency_ms.items():
            if not samples:
                summary[stage] = {"count": 0, "last": None, "p50": None, "p90": None}
                continue
            ordered = sorted(samples)
            summary[stage] = {"count": len(ordered), "last": round(samples[-1], 3),
                              "p50": round(statistics.median(ordered), 3),
                              "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3)}
        return summary

    def snapshot(self, *, now_s: float, modules: list[dict[str, Any]], bot: dict[str, Any]) -> dict[str, Any]:
        """Everything the page shows, as plain JSON types; ``now_s`` is unix time."""
        feed = None
        if self.feed is not None:
            feed = {**self.feed, "lag_s": round(max(0.0, now_s - self.feed["timestamp"]), 3),
                    "since_last_s": round(max(0.0, now_s - self.feed["received_ns"] / 1e9), 3),
                    "blocks": self.feed_blocks}
            del feed["received_ns"]
        return {
            "type": "snapshot", "now": now_s, "bot": bot, "modules": modules, "feed": feed, "head": self.head,
            "risk_counts": dict(self.risk_counts),
            "latency_ms": self.latency_summary(),
            "opportunities": list(self.opportunities), "opportunity_count": self.opportunity_count,
            "executions": list(self.executions), "execution_counts": dict(self.execution_counts),
            "pnl": {"total_wei": str(self.pnl_wei), "series": [[t, v] for t, v in self.pnl_series]},
        }
