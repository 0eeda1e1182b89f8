"""The distributed bot decides exactly as the monolithic one on a replayed recording (issue #9).

A short devnet session is recorded with `mevbot record` while real router swaps open price gaps.
Then the same recording is run, through ``[monitor] replay``, by (a) the monolithic bot (`mevbot
run`) and (b) the three-process placement (feed: monitor, parser, pipeline; scan: scanner;
trade: risk, execution, store) under `mevbot up`, real processes over Unix sockets. Each event
is published once the whole deployment has settled (mevbot/replay/settle.py), so both stores
must hold the same opportunities, with every amount and cost, the same risk decisions and the
same execution results, in the same order: compared exactly, not as sets. Execution is dry run
(simulated on the devnet, whose state does not move between the runs). Risk's two timing rules are
off in both (procs.SAME_TIMING_RISK): they read the wall clock, which a replay does not fix; its
price-impact cap too, so that trades are approved whatever earlier tests did to these pools.
Clustered (two scanner shards) on the same recording finds together exactly what one scanner
finds, none twice, event by event (within an event the two shards' rows reach the store in
either order). The opportunities are also those `mevbot replay` finds on the same recording.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .procs import (MEVBOT, SAME_TIMING_RISK, THREE_PROCESSES, Proc, base_config, environ, open_gap,
                    placement_toml, rows, socket_of, status_of, wait_until)

pytestmark = pytest.mark.devnet

GAPS = (("uniswap_v2", "WETH", "USDC", 30 * 10**18), ("sushiswap", "WETH", "USDC", 20 * 10**18),
        ("uniswap_v2", "WETH", "USDT", 15 * 10**18))


def _frames_in(path: Path) -> int:
    return path.read_text().count('"record":"frame"') if path.exists() else 0


@pytest.fixture(scope="module")
def recording(devnet):
    """A devnet session with three price gaps opened by real swaps, recorded by `mevbot record`."""
    with tempfile.TemporaryDirectory(prefix="mbrec") as name:
        work = Path(name)
        (work / "config.toml").write_text("")
        path = work / "gaps.rec"
        recorder = Proc(["record", str(path)], work, environ(devnet, work), "record.log")
        try:
            wait_until(lambda: _frames_in(path) > 0, 30, "the recorder's first frame", recorder.log_text)
            for dex, a, b, eth_in in GAPS:
                open_gap(devnet, devnet.pool(dex, a, b), eth_in)  # each waits for its receipt
            last = int(devnet.rpc.call("eth_blockNumber"), 16)
            wait_until(lambda: f'"record":"head","received_ns"' in path.read_text()
                       and max(json.loads(line)["number"] for line in path.read_text().splitlines()
                               if '"record":"head"' in line) >= last, 30, "the recorder saw the last swap's block",
                       recorder.log_text)
            recorder.signal(2)  # Ctrl-C: the end record is written
            assert recorder.wait(30) == 0, recorder.log_text()
        finally:
            recorder.kill()
        yield path, work / "manifest.json"


# Approve what the scanner finds however far earlier tests moved these pools' prices, so that
# requests and results really flow (the same in every run).
REPLAY_RISK = SAME_TIMING_RISK + "max_price_impact_bps = 10_000\n"


def _config(workdir: Path, placement: str = "") -> Path:
    path = workdir / "config.toml"
    path.write_text(base_config(workdir) + REPLAY_RISK + placement)
    return path


def _env(devnet, workdir: Path, recording: Path, manifest: Path) -> dict[str, str]:
    env = environ(devnet, workdir)
    env["MEVBOT__MONITOR__REPLAY"] = str(recording)
    env["MEVBOT__PARSER__MANIFEST"] = str(manifest)  # the deployment the recording was made on
    return env


def _monitor_health(socket: Path) -> str:
    status = status_of(socket) or {"modules": []}
    return next((m.get("reason", "") for m in status["modules"] if m["name"] == "monitor"), "")


# the whole opportunity as the store keeps it (route, amounts, gas and L1 costs, position)
OPPORTUNITIES = "SELECT cycle_key, amount_in, gross_profit, block_number, seq, tx_index, payload FROM opportunities ORDER BY id"
DECISIONS = "SELECT cycle_key, approved, rule, reason, seq, tx_index FROM risk_decisions ORDER BY id"
# execution's dry run: simulated on the devnet, which does not move between the runs
RESULTS = "SELECT request_id, cycle_key, status, reason, expected_profit FROM execution_results ORDER BY id"


def _stored(store: Path) -> tuple[list, list, list]:
    return rows(store, OPPORTUNITIES), rows(store, DECISIONS), rows(store, RESULTS)


def _complete(opps: list, decisions: list, results: list) -> bool:
    """Every opportunity has its decision stored and every approval its execution result."""
    return bool(opps) and len(decisions) == len(opps) and len(results) == sum(1 for d in decisions if d[1])


def _finished(socket: Path, store: Path, proc: Proc, what: str) -> tuple[list, list, list]:
    """The store once the replay is finished and everything it caused is stored."""
    wait_until(lambda: _monitor_health(socket).startswith("replay finished"), 180, f"{what}: replay finished",
               proc.log_text)
    assert "did not settle" not in _monitor_health(socket), proc.log_text()[-4000:]
    # the store writes in batches of its own: poll until every decision is in, with a deadline
    wait_until(lambda: _complete(*_stored(store)), 30, f"{what}: stored", proc.log_text)
    return _stored(store)


@pytest.fixture(scope="module")
def monolithic(devnet, recording):
    """(opportunities, decisions, execution results) the monolithic `mevbot run` stores on the recording."""
    path, manifest = recording
    with tempfile.TemporaryDirectory(prefix="mbmono") as name:
        work = Path(name)
        mono = Proc(["run", "--config", str(_config(work))], work, _env(devnet, work, path, manifest), "bot.log")
        try:
            opps, decisions, results = _finished(work / "run" / "bot-{process}.sock", work / "store.sqlite", mono,
                                                 "monolithic")
        finally:
            mono.kill()
    # not trivial: every gap was found, and trades approved
    assert len(opps) >= len(GAPS) and len(decisions) == len(opps)
    assert any(d[1] for d in decisions) and results
    return opps, decisions, results


def _placed(devnet, recording, processes, overrides=None) -> tuple[list, list, list, str]:
    path, manifest = recording
    with tempfile.TemporaryDirectory(prefix="mbplaced") as name:
        work = Path(name)
        config = _config(work, placement_toml(work, processes, overrides or {}))
        placed = Proc(["up", "--config", str(config)], work, _env(devnet, work, path, manifest), "up.log")
        try:
            opps, decisions, results = _finished(socket_of(work, "feed"), work / "store.sqlite", placed, "placed")
            return opps, decisions, results, placed.log_text()
        finally:
            placed.kill()


def test_the_distributed_placement_decides_as_the_monolithic_bot_on_a_replayed_recording(devnet, recording,
                                                                                          monolithic):
    want_opps, want_decisions, want_results = monolithic
    got_opps, got_decisions, got_results, log = _placed(devnet, recording, THREE_PROCESSES)
    assert got_opps == want_opps
    assert got_decisions == want_decisions
    assert got_results == want_results
    assert "[scan] " in log and "[trade] " in log and "replay of" in log


def _by_event(rows_: list[tuple], position: slice) -> list[list[tuple]]:
    """Rows grouped by consecutive event position, each group sorted: the order of the events and
    what each found, not the order two publishers' rows reached the store within one event."""
    groups: list[list[tuple]] = []
    last = object()
    for row in rows_:
        if row[position] != last:
            groups.append([])
            last = row[position]
        groups[-1].append(row)
    return [sorted(group, key=repr) for group in groups]


def test_two_scanner_shards_on_a_replay_find_together_exactly_what_one_scanner_finds(devnet, recording,
                                                                                     monolithic):
    want_opps, want_decisions, _ = monolithic
    processes = {"feed": ["monitor", "parser", "pipeline"], "scan0": ["scanner"], "scan1": ["scanner"],
                 "trade": ["risk", "execution", "store"]}
    got_opps, got_decisions, _, log = _placed(devnet, recording, processes,
                                           {"scan0": ["scanner.shard=0/2"], "scan1": ["scanner.shard=1/2"]})
    assert "scanner: shard 0/2:" in log and "scanner: shard 1/2:" in log
    # each opportunity once (none found by both shards), event by event; the decisions follow
    assert _by_event(got_opps, slice(3, 6)) == _by_event(want_opps, slice(3, 6))
    assert _by_event(got_decisions, slice(4, 6)) == _by_event(want_decisions, slice(4, 6))


def test_mevbot_replay_finds_the_opportunities_the_bot_finds_on_the_recording(devnet, recording, monolithic):
    """`mevbot replay` (its own sequential bus, risk clock and dry run) finds what the bot found."""
    path, manifest = recording
    want_opps = monolithic[0]
    with tempfile.TemporaryDirectory(prefix="mbrpl") as rpl_dir:
        rpl_dir = Path(rpl_dir)
        (rpl_dir / "config.toml").write_text(REPLAY_RISK)
        out = rpl_dir / "decisions.jsonl"
        done = subprocess.run([sys.executable, "-m", "mevbot", "replay", str(path), "--out", str(out)], cwd=rpl_dir,
                              env=_env(devnet, rpl_dir, path, manifest), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        replayed = [json.loads(line)["payload"] for line in out.read_text().splitlines()
                    if json.loads(line)["kind"] == "opportunity"]
    assert [(o["cycle_key"], str(o["amount_in"]), str(o["gross_profit"]), o["block_number"], o["seq"], o["tx_index"])
            for o in replayed] == [(o[0], str(o[1]), str(o[2]), o[3], o[4], o[5]) for o in want_opps]


def test_a_recording_made_on_another_deployment_is_refused_naming_what_differs(devnet, recording, tmp_path):
    path, manifest = recording
    other = json.loads(manifest.read_text())
    other["pools"] = other["pools"][1:]
    (tmp_path / "other.json").write_text(json.dumps(other))
    (tmp_path / "config.toml").write_text(base_config(tmp_path))
    env = _env(devnet, tmp_path, path, tmp_path / "other.json")
    done = subprocess.run([*MEVBOT, "run", "--config", str(tmp_path / "config.toml")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"{path}: recorded on another deployment: its manifest differs from [parser] manifest " in done.stderr
    assert " in pools (point [parser] manifest at" in done.stderr and "Traceback" not in done.stderr
