"""The risk module on a real bot and bus: a scanner's burst of opportunities through the same pools
is judged in order, the best approved and its request sent on before the rest are rejected, and
every decision is still published."""

from __future__ import annotations

import attrs
import trio

from mevbot.execution.engine import TOPIC_REQUEST
from mevbot.risk.rules import TOPIC_DECISION
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY
from tests.risk.test_rules import opportunity


def risk_only_bot(tmp_path):
    """A real bot and bus running the risk module alone (the test publishes what the scanner would)."""
    from mevbot.config import load_config
    from mevbot.risk.module import RiskModule
    from mevbot.runtime.bot import Bot

    (tmp_path / "config.toml").write_text("")
    config = load_config(str(tmp_path / "config.toml"), overrides=[
        f"risk.state_path={tmp_path / 'risk-state.json'}", f"bus.persist_path={tmp_path / 'bus.sqlite'}",
        f"control.socket_path={tmp_path / 'bot.sock'}"])
    risk = RiskModule()
    return Bot(config, [risk], absent_ok=["scanner"], handle_signals=False), risk


async def test_a_burst_through_one_pool_approves_the_first_sends_it_first_and_publishes_every_decision(tmp_path):
    bot, risk = risk_only_bot(tmp_path)
    seen: list[tuple[int, str, object]] = []
    burst = [attrs.evolve(opportunity(), cycle_key=f"k{i}", net_profit_wei=10**17 - i) for i in range(12)]
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.run)
        with bot.bus.subscribe(TOPIC_DECISION, name="t.decisions") as decisions, \
                bot.bus.subscribe(TOPIC_REQUEST, name="t.requests") as requests:

            async def read(sub) -> None:
                async for env in sub:
                    seen.append((env.created_ns, env.topic, env.payload))

            nursery.start_soon(read, decisions)
            nursery.start_soon(read, requests)
            for opp in burst:  # as the scanner publishes one change's opportunities: no yield between
                await bot.bus.publish(TOPIC_OPPORTUNITY, opp, source="scanner")
            with trio.fail_after(5):
                while len(seen) < 13:
                    await trio.sleep(0.01)  # the bot runs in real time here
        bot.request_stop()
    seen.sort(key=lambda item: item[0])  # publication order (two readers: arrival order varies)
    topics = [topic for _, topic, _ in seen]
    assert topics[:2] == [TOPIC_DECISION, TOPIC_REQUEST] and topics[2:] == [TOPIC_DECISION] * 11
    first, request = seen[0][2], seen[1][2]
    assert first.approved and first.cycle_key == "k0" and request.opportunity.cycle_key == "k0"
    rejected = [payload for _, _, payload in seen[2:]]
    assert [d.cycle_key for d in rejected] == [f"k{i}" for i in range(1, 12)]
    assert {d.rule for d in rejected} == {"pool_in_flight"}
    assert (risk.approved, risk.rejected) == (1, 11)


async def test_a_stop_while_the_rejections_wait_for_an_idle_loop_still_publishes_every_one(tmp_path):
    """The approval goes out first and the rejections wait for an idle loop; a STOP in that wait
    (the bot shutting down) must not lose them: every decision is published for the audit trail."""
    bot, risk = risk_only_bot(tmp_path)
    burst = [attrs.evolve(opportunity(), cycle_key=f"k{i}", net_profit_wei=10**17 - i) for i in range(12)]
    async with trio.open_nursery() as nursery:
        await nursery.start(bot.run)
        decisions = bot.bus.subscribe(TOPIC_DECISION, name="t.decisions", queue_size=100)
        requests = bot.bus.subscribe(TOPIC_REQUEST, name="t.requests")
        for opp in burst:
            await bot.bus.publish(TOPIC_OPPORTUNITY, opp, source="scanner")
        with trio.fail_after(5):
            await requests.receive()  # the approval is out: risk now waits for an idle loop ...
        bot.request_stop()  # ... and the stop comes first (this task never blocked in between)
    seen = []
    while decisions.depth:
        seen += await decisions.receive_batch()
    assert [d.cycle_key for d in (env.payload for env in seen)] == [f"k{i}" for i in range(12)]
    assert (risk.approved, risk.rejected) == (1, 11)
