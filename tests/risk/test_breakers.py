"""Breakers trip and cool down; the emergency stop survives a restart until cleared."""

import os

from mevbot.risk.breakers import CircuitBreaker, EmergencyStopStore


def breaker(cooldown=60.0) -> CircuitBreaker:
    return CircuitBreaker(max_consecutive_failures=3, cooldown_s=cooldown, volatility_window_s=10.0,
                          max_pool_move_bps=1000)


def test_breaker_trips_after_n_consecutive_failures_and_a_success_resets_the_count():
    b = breaker()
    assert b.record_execution(succeeded=False, now=0) is None
    assert b.record_execution(succeeded=False, now=1) is None
    assert b.record_execution(succeeded=True, now=2) is None
    assert b.record_execution(succeeded=False, now=3) is None
    assert b.record_execution(succeeded=False, now=4) is None
    trip = b.record_execution(succeeded=False, now=5)
    assert trip is not None and "3 consecutive" in trip.reason
    assert "3 consecutive" in b.halted(now=6)


def test_breaker_resumes_after_its_cooldown_but_not_before():
    b = breaker(cooldown=60.0)
    for t in range(3):
        b.record_execution(succeeded=False, now=t)
    assert b.halted(now=61) is not None
    assert b.halted(now=62) is None
    assert b.consecutive_failures == 0


def test_breaker_without_cooldown_stays_tripped_until_reset():
    b = breaker(cooldown=0)
    for t in range(3):
        b.record_execution(succeeded=False, now=t)
    assert b.halted(now=10**9) is not None
    b.reset()
    assert b.halted(now=10**9) is None


def test_abnormal_pool_move_within_the_window_trips_and_a_slow_drift_does_not():
    b = breaker()
    assert b.record_price("0xpool", 1000, now=0) is None
    assert b.record_price("0xpool", 1050, now=5) is None
    assert b.record_price("0xpool", 1090, now=20) is None  # 1000 left the window
    trip = b.record_price("0xpool", 1250, now=25)  # 1050..1250 within 10 s: > 10%
    assert trip is not None and "0xpool" in trip.reason


def test_emergency_stop_persists_across_a_restart_until_cleared(tmp_path):
    path = tmp_path / "risk-state.json"
    store = EmergencyStopStore(path)
    assert not store.current.active
    store.set("operator", now=123.0)
    restarted = EmergencyStopStore(path)
    assert restarted.current.active and restarted.current.reason == "operator"
    restarted.clear()
    assert not EmergencyStopStore(path).current.active


def test_an_unreadable_state_file_keeps_trading_stopped(tmp_path):
    path = tmp_path / "risk-state.json"
    path.write_text("{not json")
    store = EmergencyStopStore(path)
    assert store.current.active and "unreadable" in store.current.reason
    store.clear()
    assert not EmergencyStopStore(path).current.active
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".risk-state-")]  # no temp files left


def test_a_stop_written_by_another_process_is_seen_on_refresh(tmp_path):
    path = tmp_path / "risk-state.json"
    executor_view = EmergencyStopStore(path)
    assert not executor_view.refresh().active
    EmergencyStopStore(path).set("from ctl", now=1.0)  # another process (the risk module, ctl)
    assert executor_view.refresh().active and executor_view.current.reason == "from ctl"
    EmergencyStopStore(path).clear()
    assert not executor_view.refresh().active
