"""Aggregating module health into the bot's health (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from mevbot.runtime.module import Health, HealthState

_SEVERITY = {HealthState.OK: 0, HealthState.DEGRADED: 1, HealthState.FAILED: 2}


def aggregate_health(modules: Mapping[str, Health]) -> Health:
    """The worst state among the modules; the reason names every module that is not ok."""
    if not modules:
        return Health(HealthState.DEGRADED, "no modules running")
    worst = max((h.state for h in modules.values()), key=_SEVERITY.__getitem__)
    if worst is HealthState.OK:
        return Health(HealthState.OK, f"all {len(modules)} modules ok")
    reasons = [f"{name} {h.state.value}" + (f" ({h.reason})" if h.reason else "")
               for name, h in modules.items() if h.state is not HealthState.OK]
    return Health(worst, "; ".join(reasons))
