"""The live dashboard: its state folding, its actions' token, its server on real sockets, and the
page in headless Chromium against a bot on the devnet (its pause button pauses the scanner)."""

from __future__ import annotations

import json
import tempfile
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket

from mevbot.config.reload import ConfigReloader
from mevbot.execution.engine import ExecutionResult
from mevbot.feed.blocks import FeedBlock
from mevbot.observability.dashboard import serve_dashboard
from mevbot.observability.dashboard.actions import DashboardAction, check_token, parse_action
from mevbot.observability.dashboard.errors import ActionRefused, BadDashboardMessage
from mevbot.observability.dashboard.state import DashboardState
from mevbot.risk.rules import RiskDecision
from mevbot.rpc.chaindata import BlockHead
from mevbot.runtime.bot import Bot
from mevbot.runtime.manager import ModuleState
from mevbot.runtime.module import Module
from mevbot.scanner.opportunity import ArbitrageOpportunity, RouteHop
from tests.observability.dashboard_browser import CHROMIUM, open_chromium

TOKEN = "s3cret-dashboard-token"
WETH, USDC = "0x" + "11" * 20, "0x" + "22" * 20


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="mbdash") as name:  # short: Unix socket path limit
        yield Path(name)


def feed_block(seq: int, timestamp: int) -> FeedBlock:
    return FeedBlock(sequence_number=seq, block_number=1000 + seq, timestamp=timestamp, block_hash=None,
                     l1_block_number=1, delayed_messages_read=0, l1_kind=3, transactions=())


def opportunity(net_profit_wei: int = 5 * 10**15) -> ArbitrageOpportunity:
    hops = (RouteHop("0x" + "aa" * 20, "uniswap_v2", "v2", WETH, USDC, 3000, 10**18, 3000 * 10**6),
            RouteHop("0x" + "bb" * 20, "sushiswap", "v2", USDC, WETH, 3000, 3000 * 10**6, 10**18 + net_profit_wei))
    return ArbitrageOpportunity(cycle_key="c1", start_token=WETH, route=hops, amount_in=10**18,
                                amount_out=10**18 + net_profit_wei, gross_profit=net_profit_wei, gas_units=200_000,
                                gas_price_wei=10**8, l2_cost_wei=0, l1_cost_wei=0, cost_in_start_token=0,
                                net_profit=net_profit_wei, net_profit_wei=net_profit_wei, block_number=7, seq=3,
                                tx_index=0, trigger_tx=None, evaluations=1)


def result(status: str, realised: int | None, gas: int | None) -> ExecutionResult:
    return ExecutionResult(request_id=f"r-{status}", cycle_key="c1", status=status, reason="test",
                           expected_profit=10**16, realised_profit=realised, gas_cost_wei=gas,
                           tx_hash="0x" + "cd" * 32)


def decision(approved: bool, rule: str | None = None) -> RiskDecision:
    return RiskDecision(cycle_key="c1", approved=approved, rule=rule, reason="", seq=None, tx_index=None,
                        decided_at=0.0)


# ---- state (pure) ----------------------------------------------------------------------------

def test_stage_latency_is_each_envelope_minus_the_feed_block_of_its_trace():
    state = DashboardState()
    state.observe("feed.block", feed_block(1, 100), created_ns=1_000_000_000, trace_id=42)
    state.observe("market.swap.intent", object(), created_ns=1_002_000_000, trace_id=42)
    state.observe("arb.opportunity", opportunity(), created_ns=1_005_500_000, trace_id=42)
    state.observe("arb.opportunity", opportunity(), created_ns=9_000_000_000, trace_id=43)  # no feed block seen
    state.observe("risk.decision", decision(True), created_ns=1_007_000_000, trace_id=44)  # read before its block
    state.observe("feed.block", feed_block(2, 100), created_ns=1_001_000_000, trace_id=44)
    latency = state.latency_summary()
    assert latency["decoded"] == {"count": 1, "last": 2.0, "p50": 2.0, "p90": 2.0}
    assert latency["opportunity"]["count"] == 1 and latency["opportunity"]["last"] == 5.5
    assert latency["risk"]["count"] == 1 and latency["risk"]["last"] == 6.0
    assert latency["receipt"]["count"] == 0 and latency["receipt"]["last"] is None


def test_chain_head_and_risk_verdicts_are_shown():
    state = DashboardState()
    state.observe("chain.head", BlockHead(number=9, hash="0x", parent_hash="0x", timestamp=5, gas_limit=1,
                                          gas_used=1, base_fee_per_gas=10**8), created_ns=1, trace_id=1)
    for approved, rule in [(True, None), (False, "max_trade"), (False, "max_trade"), (True, None)]:
        state.observe("risk.decision", decision(approved, rule), created_ns=2, trace_id=2)
    snap = state.snapshot(now_s=10.0, modules=[], bot={})
    assert snap["head"] == {"number": 9, "timestamp": 5, "base_fee_per_gas": "100000000"}
    assert snap["risk_counts"] == {"approved": 2, "rejected: max_trade": 2}


def test_pnl_counts_landed_results_net_of_gas_and_ignores_gas_of_unsent_ones():
    state = DashboardState()
    state.observe("exec.result", result("succeeded", 3 * 10**16, 10**15), created_ns=1, trace_id=1)
    state.observe("exec.result", result("reverted", 0, 2 * 10**15), created_ns=2, trace_id=2)
    state.observe("exec.result", result("dropped", None, 7 * 10**18), created_ns=3, trace_id=3)
    snap = state.snapshot(now_s=10.0, modules=[], bot={})
    assert snap["pnl"]["total_wei"] == str(3 * 10**16 - 10**15 - 2 * 10**15)
    assert [round(v, 6) for _, v in snap["pnl"]["series"]] == [0.029, 0.027]
    assert [e["status"] for e in snap["executions"]] == ["dropped", "reverted", "succeeded"]  # newest first
    assert snap["executions"][0]["gas_cost_wei"] == "0"
    assert snap["execution_counts"] == {"succeeded": 1, "reverted": 1, "dropped": 1}
    json.dumps(snap)  # plain JSON types only; wei amounts are strings (JS numbers lose them)


def test_feed_lag_is_now_minus_the_block_timestamp_and_windows_stay_bounded():
    state = DashboardState(rows_kept=3, pnl_points=10)
    for seq in range(50):
        state.observe("feed.block", feed_block(seq, 1_000 + seq), created_ns=seq, trace_id=seq)
        state.observe("arb.opportunity", opportunity(), created_ns=seq, trace_id=seq)
        state.observe("exec.result", result("succeeded", 10**15, 0), created_ns=seq * 10**9, trace_id=seq)
    snap = state.snapshot(now_s=1_051.5, modules=[], bot={})
    assert snap["feed"]["sequence_number"] == 49 and snap["feed"]["lag_s"] == 2.5 and snap["feed"]["blocks"] == 50
    assert len(snap["opportunities"]) == 3 and snap["opportunity_count"] == 50
    assert snap["opportunities"][0]["route"] == "0x1111…1111 → 0x2222…2222 → 0x1111…1111"
    series = snap["pnl"]["series"]
    assert len(series) <= 10 and series[-1] == [49.0, 0.05] and series[0][0] == 0.0  # thinned, whole span kept


# ---- actions (pure) ----------------------------------------------------------------------------

def test_an_action_message_parses_and_bad_ones_say_what_is_wrong():
    action = parse_action('{"action": "pause", "module": "scanner", "token": "t", "id": 4}')
    assert action == DashboardAction("pause", "scanner", "t", 4) and "t'" not in repr(action)
    for text, problem in [("nope", "not JSON"), ("[1]", "JSON list"), ('{"action": "stop", "module": "x"}',
                          '"action" is \'stop\''), ('{"action": "pause"}', '"module" is None'),
                          ('{"action": "pause", "module": "x", "token": 5}', '"token" is a JSON int'),
                          ("x" * 5000, "at most 4096")]:
        with pytest.raises(BadDashboardMessage, match=problem):
            parse_action(text)


def test_the_token_must_match_and_an_unset_token_disables_actions():
    check_token(TOKEN, TOKEN)
    with pytest.raises(ActionRefused, match="wrong token"):
        check_token(TOKEN + "x", TOKEN)
    with pytest.raises(ActionRefused, match="no token"):
        check_token("", TOKEN)
    with pytest.raises(ActionRefused, match="dashboard_token is not set"):
        check_token("", "")


async def poll_until(condition, *, timeout_s: float = 10.0, what: str = "condition") -> None:
    with trio.move_on_after(timeout_s):
        while not condition():
            await trio.sleep(0.05)  # polling the bot's real module state, bounded by the deadline
        return
    raise AssertionError(f"{what} not reached within {timeout_s}s")


# ---- the server on real sockets, with a small real bot ------------------------------------

class Idle(Module):
    """A module that only waits (the server tests need a bot, not its trading modules)."""

    name = "idler"

    async def run(self, ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        await ctx.gate.wait_open()
        ctx.health.ok("idling")
        await trio.sleep_forever()


async def start_small_bot(nursery, workdir: Path, token: str = TOKEN):
    config_path = workdir / "config.toml"
    config_path.write_text(f'[runtime]\nwatch_config = false\n[control]\nsocket_path = "{workdir}/bot.sock"\n'
                           f'[observability]\ndashboard_token = "{token}"\n')
    reloader = ConfigReloader(config_path, environ={"MEVBOT__BUS__PERSIST_PATH": str(workdir / "bus.sqlite")})
    bot = Bot(reloader.current, [Idle()], reloader=reloader, handle_signals=False)
    await nursery.start(bot.run)
    dashboard = await nursery.start(partial(serve_dashboard, bot, bot.config.observability, port=0))
    return bot, dashboard


async def next_snapshot(ws, condition=lambda s: True) -> dict:
    with trio.fail_after(10):
        while True:
            message = json.loads(await ws.get_message())
            if message["type"] == "snapshot" and condition(message):
                return message


async def next_reply(ws) -> dict:
    with trio.fail_after(10):
        while True:
            message = json.loads(await ws.get_message())
            if message["type"] == "reply":
                return message


async def raw_exchange(port: int, head: bytes) -> bytes:
    """Send ``head`` on a fresh connection; everything the server answers before closing."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(head)
        answer = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some():
                answer += chunk
    return answer


async def test_the_page_and_only_the_page_is_served_over_http(workdir):
    async with trio.open_nursery() as nursery:
        bot, dashboard = await start_small_bot(nursery, workdir)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{dashboard.port}") as http:
            page = await http.get("/")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert 'id="pnl-chart"' in page.text and "new WebSocket" in page.text
            assert "http://" not in page.text.replace('"http://', "")  # nothing loaded from elsewhere
            assert (await http.get("/secrets")).status_code == 404
            assert (await http.post("/", content=b"x")).status_code == 405
        for head, status in [(b"GARBAGE\r\n\r\n", b"400"),
                             (b"GET /other HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", b"404"),
                             (b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", b"400")]:  # no key
            assert (await raw_exchange(dashboard.port, head)).startswith(b"HTTP/1.1 " + status)
        await poll_until(lambda: dashboard.connections == 0, timeout_s=2,  # < READ_TIMEOUT_S: at once
                         what="failed handshakes released")
        dashboard.read_timeout_s = 0.2
        async with await trio.open_tcp_stream("127.0.0.1", dashboard.port) as silent:
            with trio.fail_after(5):
                assert (await silent.receive_some()).startswith(b"HTTP/1.1 400")  # no head in time
        bot.request_stop()
        nursery.cancel_scope.cancel()


async def test_snapshots_carry_bus_messages_and_module_health_to_a_websocket_client(workdir):
    async with trio.open_nursery() as nursery:
        bot, dashboard = await start_small_bot(nursery, workdir)
        async with open_websocket("127.0.0.1", dashboard.port, "/ws", use_ssl=False) as ws:
            first = await next_snapshot(ws)
            assert [(m["name"], m["state"]) for m in first["modules"]] == [("idler", "running")]
            assert first["bot"]["actions_enabled"] and first["feed"] is None
            env = await bot.bus.publish("feed.block", feed_block(77, 1_000))
            await bot.bus.publish("arb.opportunity", opportunity(), trace_id=env.trace_id)
            snap = await next_snapshot(ws, lambda s: s["opportunity_count"] == 1)
            assert snap["feed"]["sequence_number"] == 77 and snap["feed"]["lag_s"] > 0
            assert snap["latency_ms"]["opportunity"]["count"] == 1
        bot.request_stop()
        nursery.cancel_scope.cancel()


async def test_actions_need_the_token_and_run_as_the_ctl_command(workdir):
    async with trio.open_nursery() as nursery:
        bot, dashboard = await start_small_bot(nursery, workdir)
        async with open_websocket("127.0.0.1", dashboard.port, "/ws", use_ssl=False) as ws:
            for token, error in [(None, "no token"), ("wrong", "wrong token")]:
                message = {"action": "pause", "module": "idler", "id": 1}
                if token is not None:
                    message["token"] = token
                await ws.send_message(json.dumps(message))
                reply = await next_reply(ws)
                assert not reply["ok"] and error in reply["error"] and reply["id"] == 1
                assert bot.manager.status_of("idler").state is ModuleState.RUNNING

            await ws.send_message("{not json")
            assert "not JSON" in (await next_reply(ws))["error"]  # and the connection stays usable

            await ws.send_message(json.dumps({"action": "pause", "module": "nosuch", "token": TOKEN}))
            ctl = await bot.control.answer(b'{"cmd": "pause", "args": {"module": "nosuch"}}')
            assert (await next_reply(ws))["error"] == ctl["error"]  # the same refusal as `mevbot ctl pause`

            await ws.send_message(json.dumps({"action": "pause", "module": "idler", "token": TOKEN, "id": 2}))
            reply = await next_reply(ws)
            assert reply["ok"] and reply["module"]["state"] == "paused" and reply["id"] == 2
            assert bot.manager.status_of("idler").state is ModuleState.PAUSED
            await next_snapshot(ws, lambda s: s["modules"][0]["state"] == "paused")

            await ws.send_message(json.dumps({"action": "resume", "module": "idler", "token": TOKEN}))
            assert (await next_reply(ws))["ok"]
            assert bot.manager.status_of("idler").state is ModuleState.RUNNING
        bot.request_stop()
        nursery.cancel_scope.cancel()


async def test_an_unset_token_disables_actions_and_a_cross_site_websocket_is_refused(workdir):
    async with trio.open_nursery() as nursery:
        bot, dashboard = await start_small_bot(nursery, workdir, token="")
        async with open_websocket("127.0.0.1", dashboard.port, "/ws", use_ssl=False) as ws:
            assert not (await next_snapshot(ws))["bot"]["actions_enabled"]
            await ws.send_message(json.dumps({"action": "pause", "module": "idler", "token": ""}))
            assert "dashboard_token is not set" in (await next_reply(ws))["error"]
        assert bot.manager.status_of("idler").state is ModuleState.RUNNING
        with pytest.raises(ConnectionRejected) as rejected:
            async with open_websocket("127.0.0.1", dashboard.port, "/ws", use_ssl=False,
                                      extra_headers=[(b"Origin", b"http://evil.example")]):
                pass
        assert rejected.value.status_code == 403
        bot.request_stop()
        nursery.cancel_scope.cancel()


async def test_connections_beyond_the_limit_are_answered_503_while_the_others_stay_live(workdir):
    async with trio.open_nursery() as nursery:
        bot, dashboard = await start_small_bot(nursery, workdir)
        dashboard.max_connections = 1
        async with open_websocket("127.0.0.1", dashboard.port, "/ws", use_ssl=False) as ws:
            await next_snapshot(ws)
            assert (await raw_exchange(dashboard.port, b"GET / HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 503")
            await ws.send_message(json.dumps({"action": "pause", "module": "idler", "token": TOKEN}))
            assert (await next_reply(ws))["ok"]
        await poll_until(lambda: dashboard.connections == 0, what="the client's connection released")
        assert (await raw_exchange(dashboard.port, b"GET / HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 200")
        bot.request_stop()
        nursery.cancel_scope.cancel()


# ---- the page in headless Chromium, on the devnet -------------------------------------------

MODULE_STATE = "document.querySelector('#modules tr[data-module=\"{0}\"] td.state')?.textContent"
FEED_SEQ = "parseInt(document.getElementById('feed-seq').textContent)"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                  "(tests/observability/install_chromium.sh installs it)")
async def test_in_chromium_the_page_shows_live_devnet_numbers_and_pause_pauses_the_scanner(devnet, workdir,
                                                                                          tmp_path):
    from mevbot.devnet.traders import TrafficOptions, run_traffic
    from mevbot.runtime.registry import select_modules
    from tests.fixtures.botconfig import devnet_environ

    config_path = workdir / "config.toml"
    config_path.write_text(f'[runtime]\nwatch_config = false\n[control]\nsocket_path = "{workdir}/bot.sock"\n'
                           f'[observability]\ndashboard_token = "{TOKEN}"\n')
    reloader = ConfigReloader(config_path, environ=devnet_environ(devnet, workdir))
    modules, disabled = select_modules(reloader.current)
    bot = Bot(reloader.current, modules, reloader=reloader, absent_ok=disabled, handle_signals=False)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(bot.run)
            dashboard = await nursery.start(partial(serve_dashboard, bot, bot.config.observability, port=0))
            await nursery.start(run_traffic, devnet.manifest, TrafficOptions(rate_per_s=5.0, seed=8))
            async with open_chromium(tmp_path) as page:
                await page.navigate(f"http://127.0.0.1:{dashboard.port}/#token={TOKEN}")
                await page.wait_for("document.getElementById('conn-state').textContent === 'live'")
                assert await page.wait_for(MODULE_STATE.format("scanner")) == "running"
                names = await page.evaluate("[...document.querySelectorAll('#modules tr[data-module]')]"
                                            ".map(r => r.dataset.module)")
                assert names == bot.manager.names
                first = (await page.wait_for(f"Number.isNaN({FEED_SEQ}) ? null : {{seq: {FEED_SEQ}}}"))["seq"]
                await page.wait_for(f"{FEED_SEQ} > {first}")  # live: the noise traders' blocks arrive

                await page.evaluate("document.querySelector('#modules tr[data-module=\"scanner\"] button.pause')"
                                    ".click()")
                await poll_until(lambda: bot.manager.status_of("scanner").state is ModuleState.PAUSED,
                                 what="scanner paused by the page's button")
                assert await page.wait_for(f"{MODULE_STATE.format('scanner')} === 'paused'")
                assert bot.manager.status_of("parser").state is ModuleState.RUNNING  # only the scanner
                await page.wait_for("document.getElementById('message').textContent === 'pause scanner: paused'")
                shot = await page.screenshot(tmp_path / "dashboard.png")
                assert shot.stat().st_size > 10_000 and page.exceptions == []
                print(f"dashboard screenshot: {shot}")

                await page.evaluate("document.querySelector('#modules tr[data-module=\"scanner\"] button.resume')"
                                    ".click()")
                await poll_until(lambda: bot.manager.status_of("scanner").state is ModuleState.RUNNING,
                                 what="scanner resumed by the page's button")
            bot.request_stop()
            nursery.cancel_scope.cancel()
