"""The nonce manager: a free slot is taken without yielding, a held one is waited for."""

from __future__ import annotations

import trio
import trio.testing

from mevbot.execution.nonces import NonceManager


async def test_a_free_slot_is_taken_without_a_checkpoint_and_the_next_nonce_follows_a_send():
    async def pending() -> int:
        await trio.lowlevel.checkpoint()
        return 7

    manager = NonceManager(pending)
    await manager.sync()
    with trio.testing.assert_no_checkpoints():
        async with manager.slot() as slot:
            assert slot.nonce == 7
            slot.sent()
    async with manager.slot() as slot:
        assert slot.nonce == 8
        slot.refused()
    assert manager.next_nonce == 8  # a refused nonce is given back: no gap


async def test_a_held_slot_makes_the_next_one_wait_for_its_outcome():
    manager = NonceManager(lambda: _value(3))
    order = []

    async def first(task_status=trio.TASK_STATUS_IGNORED):
        async with manager.slot() as slot:
            task_status.started()
            await trio.sleep(0.01)
            order.append(("first", slot.nonce))
            slot.sent()

    async def second():
        async with manager.slot() as slot:
            order.append(("second", slot.nonce))

    async with trio.open_nursery() as nursery:
        await nursery.start(first)
        nursery.start_soon(second)
    assert order == [("first", 3), ("second", 4)]


async def _value(v: int) -> int:
    return v
