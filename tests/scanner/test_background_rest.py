"""In one process the decision's subscribers run before the scanner sizes the rest (when_idle)."""

from __future__ import annotations

import random

import trio

from mevbot.pools.messages import PoolStateChange, PoolStateEntry
from mevbot.replay.replayer import SequentialBus
from mevbot.scanner.module import ScannerModule
from mevbot.scanner.opportunity import TOPIC_OPPORTUNITY
from tests.scanner.test_decision import module_with_snapshot, random_market, scanner_for


async def test_the_decisions_consumer_runs_its_steps_before_the_rest_is_sized():
    market = random_market(random.Random(700))
    module = ScannerModule()
    module.scanner = scanner_for(market)
    module.base_fee_wei = 10**7
    events: list[str] = []
    send, receive = trio.open_memory_channel(100)
    bus = SequentialBus()

    async def hand_over(opp, trace):  # as the bus's memory lane: the consumer is woken, not run
        events.append("published")
        send.send_nowait(opp)

    bus.route(TOPIC_OPPORTUNITY, hand_over)
    sized = module.scanner.size

    def size(candidate, *args, **kwargs):
        events.append("sized")
        return sized(candidate, *args, **kwargs)

    module.scanner.size = size
    ctx = await module_with_snapshot(module, market, bus)

    async def consumer() -> None:  # risk, then execution: a few steps of work per decision
        await receive.receive()
        for step in range(3):
            events.append(f"consumer {step}")
            await trio.lowlevel.checkpoint()

    moved = PoolStateChange(tuple(PoolStateEntry.of(a, s) for a, s in market.states.items()), 5, seq=8, tx_index=0,
                            trigger_tx="0x" + "08" * 32, cause="intent")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        await trio.testing.wait_all_tasks_blocked()
        events.clear()
        await module._on_change(ctx, None, moved, 2)
    first = events.index("published")
    after = events[first + 1:]
    assert after.count("sized") >= 2  # there was a rest to size
    assert after[:3] == ["consumer 0", "consumer 1", "consumer 2"]  # before any of it
