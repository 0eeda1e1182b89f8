"""`mevbot run` with ``[monitor] replay`` refuses, before any module starts, what it cannot replay."""

from __future__ import annotations

from tests.replay.session import mevbot


def _run(tmp_path, *sets: str):
    (tmp_path / "config.toml").write_text(f'[control]\nsocket_path = "{tmp_path / "bot.sock"}"\n')
    args = [a for s in sets for a in ("--set", s)]
    return mevbot("run", "--config", str(tmp_path / "config.toml"), *args, cwd=tmp_path, timeout=60)


def test_a_missing_recording_is_named_and_nothing_starts(tmp_path):
    done = _run(tmp_path, f"monitor.replay={tmp_path / 'absent.rec'}")
    assert done.returncode == 2, done.stderr
    assert f"[monitor] replay: {tmp_path / 'absent.rec'}: no such recording" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "bot.sock").exists()


def test_a_replay_that_could_trade_is_refused(tmp_path):
    done = _run(tmp_path, f"monitor.replay={tmp_path / 'absent.rec'}", "execution.dry_run=false")
    assert done.returncode == 2, done.stderr
    assert "a recording is never traded: set [execution] dry_run = true" in done.stderr
