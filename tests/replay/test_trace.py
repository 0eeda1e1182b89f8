"""`mevbot trace` on a real stored run: the bot on the devnet, a price gap, then the trace of its block.

The whole bot runs in-process against the devnet with its store; after it stopped (the store
drains), `mevbot trace` runs as a subprocess on that database, by sequence number and by the
gap's transaction hash.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
import trio

from mevbot.config.reload import ConfigReloader
from mevbot.runtime.bot import Bot
from mevbot.runtime.registry import select_modules
from tests.fixtures.botconfig import devnet_environ
from tests.replay.session import mevbot, open_gap

pytestmark = pytest.mark.devnet

PIPELINE = ["feed.block", "market.swap.intent", "pools.state", "arb.opportunity", "risk.decision"]


def _stored_opportunity_seq(db_path: Path, tx_hash: str) -> int | None:
    """The seq of a stored, decided opportunity the swap ``tx_hash`` triggered, once its logs were handled too."""
    if not db_path.exists():
        return None
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT seq FROM opportunities WHERE trigger_tx = ? LIMIT 1", (tx_hash.lower(),)).fetchone()
        decided = db.execute("SELECT COUNT(*) FROM risk_decisions WHERE seq = ?", (row[0],)).fetchone() if row else (0,)
        # and the receipt side: the swap's logs reached the pipeline, which moved the pool
        mined = db.execute("SELECT COUNT(*) FROM state_changes WHERE trace_id IN"
                           " (SELECT trace_id FROM pool_states WHERE tx_hash = ?)", (tx_hash.lower(),)).fetchone()
    except sqlite3.OperationalError:  # the store has not created its tables yet
        return None
    finally:
        db.close()
    return row[0] if row and decided[0] and mined[0] else None


def _store_summary(db_path: Path, tx_hash: str) -> str:
    """What the store holds, for the message of a failed wait."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("feed_messages", "swaps", "state_changes", "opportunities", "risk_decisions")}
        swaps = db.execute("SELECT seq, trace_id FROM swaps WHERE tx_hash = ?", (tx_hash.lower(),)).fetchall()
        changes = db.execute("SELECT cause, seq, trigger_tx FROM state_changes").fetchall()
    finally:
        db.close()
    return f"no opportunity triggered by {tx_hash} was stored: {counts}; its swaps {swaps}; changes {changes}"


@pytest.fixture(scope="module")
def stored_run(devnet):
    """(workdir, environment, seq, gap tx hash) of a bot run whose store holds a gap's whole trace."""
    with tempfile.TemporaryDirectory(prefix="mbtrace") as name:  # short: Unix socket path limit
        work = Path(name)
        config = work / "config.toml"
        config.write_text(f'[runtime]\nwatch_config = false\n[control]\nsocket_path = "{work}/bot.sock"\n')
        env = devnet_environ(devnet, work)
        db_path = Path(env["MEVBOT__STORE__PATH"])

        async def run() -> tuple[int, str]:
            reloader = ConfigReloader(config, environ=env)
            modules, disabled = select_modules(reloader.current)
            bot = Bot(reloader.current, modules, reloader=reloader, absent_ok=disabled, handle_signals=False)
            seq = None
            async with trio.open_nursery() as nursery:
                await nursery.start(bot.run)
                gap_tx = await trio.to_thread.run_sync(lambda: open_gap(devnet, 15 * 10**18, "WBTC"))
                with trio.move_on_after(60):
                    while seq is None:
                        # polling the store file for the rows the bot writes in batches
                        seq = await trio.to_thread.run_sync(_stored_opportunity_seq, db_path, gap_tx)
                        if seq is None:
                            await trio.sleep(0.1)
                bot.request_stop()
            assert seq is not None, _store_summary(db_path, gap_tx)
            return seq, gap_tx

        # As on Arbitrum One, the feed message must come before its block's logs, or the pipeline
        # takes the swap from the logs and no opportunity is triggered at a feed position. The
        # devnet's relay publishes a block only once mined, often after the block monitor has read
        # its logs, so the monitor's block reads are held back here (like bench/e2e.py --logs-lag-ms).
        from mevbot.rpc.blocks import BlockMonitor

        deliver = BlockMonitor._deliver_range

        async def lagged(self, low: int, high: int) -> None:
            await trio.sleep(0.25)
            await deliver(self, low, high)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(BlockMonitor, "_deliver_range", lagged)
            seq, gap_tx = trio.run(run)
        yield work, env, seq, gap_tx


def _trace(work: Path, env: dict, key: str) -> list[dict]:
    done = mevbot("trace", key, "--json", "-c", str(work / "config.toml"), cwd=work, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_trace_by_sequence_number_shows_every_hop_in_pipeline_order(stored_run):
    work, env, seq, gap_tx = stored_run
    (trace,) = _trace(work, env, str(seq))
    assert trace["trace_id"] == f"{seq:032x}"
    hops = trace["hops"]
    topics = [h["topic"] for h in hops]
    # each stage's first hop comes after the previous stage's first hop
    firsts = [topics.index(t) for t in PIPELINE]
    assert firsts == sorted(firsts), topics
    assert [h["source"] for h in hops if h["topic"] in PIPELINE][:1] == ["monitor"]
    assert {h["topic"]: h["source"] for h in hops}["arb.opportunity"] == "scanner"
    times = [h["ts"] for h in hops]
    assert times == sorted(times) and hops[0]["since_first_ms"] == 0
    swap = next(h for h in hops if h["topic"] == "market.swap.intent")
    assert swap["details"]["tx_hash"] == gap_tx.lower()
    if "exec.request" in topics:  # approved: execution's dry run answers on the same trace
        assert topics.index("exec.result") > topics.index("exec.request") > topics.index("risk.decision")


def test_trace_by_transaction_hash_finds_its_feed_trace_and_its_log_trace(stored_run):
    work, env, seq, gap_tx = stored_run
    feed_trace, *log_traces = _trace(work, env, gap_tx)
    assert feed_trace["trace_id"] == f"{seq:032x}"
    # once mined, the swap's Sync/Swap logs started a trace of their own (the monitor's log batch)
    (log_trace,) = log_traces
    topics = [h["topic"] for h in log_trace["hops"]]
    assert topics[0] == "market.pool.update" and "pools.state" in topics
    assert {h["details"]["pool"] for h in log_trace["hops"] if h["topic"] == "market.pool.update"}
    table = mevbot("trace", gap_tx, "-c", str(work / "config.toml"), cwd=work, env=env)
    assert table.returncode == 0 and f"trace {seq:032x}" in table.stdout
    lines = table.stdout.splitlines()
    assert "feed.block" in lines[2] and "monitor" in lines[2]


def test_trace_of_nothing_stored_or_of_a_bad_key_says_so(stored_run):
    work, env, _, _ = stored_run
    unknown = mevbot("trace", "987654321", "-c", str(work / "config.toml"), cwd=work, env=env)
    assert unknown.returncode == 3 and "nothing stored for 987654321" in unknown.stderr
    bad = mevbot("trace", "0xnothex", "-c", str(work / "config.toml"), cwd=work, env=env)
    assert bad.returncode == 2 and "neither a feed sequence number" in bad.stderr
    nodb = mevbot("trace", "1", "-c", str(work / "config.toml"), cwd=work,
                  env={**env, "MEVBOT__STORE__PATH": str(work / "absent.sqlite")})
    assert nodb.returncode == 1 and "no database at" in nodb.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr + nodb.stderr
