"""The block monitor on real anvil nodes: every block once, in order, with the watched logs."""

from __future__ import annotations

import pytest
import trio

from mevbot.rpc.blocks import BlockMonitor, _chunks
from mevbot.rpc.chaindata import BlockHead, BlockLogs
from mevbot.rpc.client import RpcClient
from mevbot.rpc.settings import RpcSettings
from tests.rpc.contracts import DEPOSIT_TOPIC, deploy_weth9, deposit
from tests.rpc.servers import LogRangeLimitingProxy

DEADLINE_S = 15.0


class Recorder:
    """Collects what the monitor delivers and wakes the test when a block number is reached."""

    def __init__(self) -> None:
        self.heads: list[BlockHead] = []
        self.logs: list[BlockLogs] = []
        self.events: list[tuple[str, int]] = []
        self._waiters: list[tuple[int, trio.Event]] = []

    async def on_head(self, head: BlockHead) -> None:
        self.heads.append(head)
        self.events.append(("head", head.number))
        for number, event in self._waiters:
            if head.number >= number:
                event.set()

    async def on_logs(self, block_logs: BlockLogs) -> None:
        self.logs.append(block_logs)
        self.events.append(("logs", block_logs.block_number))

    async def wait_for_block(self, number: int) -> None:
        if self.heads and self.heads[-1].number >= number:
            return
        event = trio.Event()
        self._waiters.append((number, event))
        with trio.fail_after(DEADLINE_S):
            await event.wait()

    def assert_contiguous_chain(self, first: int, last: int) -> None:
        assert [h.number for h in self.heads] == list(range(first, last + 1))
        for parent, child in zip(self.heads, self.heads[1:]):
            assert child.parent_hash == parent.hash


async def test_polling_delivers_every_block_in_order_when_the_head_jumps(anvil, nursery):
    recorder = Recorder()
    async with RpcClient([anvil.url]) as rpc:
        monitor = BlockMonitor(rpc, on_head=recorder.on_head, on_logs=recorder.on_logs,
                               poll_interval_s=0.05)
        await nursery.start(monitor.run)
        await recorder.wait_for_block(0)
        await rpc.call("anvil_mine", ["0x5"])  # the head jumps 0 -> 5 between two polls
        await recorder.wait_for_block(5)
        await rpc.call("anvil_mine", ["0x1"])
        await recorder.wait_for_block(6)
        nursery.cancel_scope.cancel()
    recorder.assert_contiguous_chain(0, 6)
    assert recorder.logs == []


async def test_subscription_delivers_every_block_without_polling(anvil, nursery):
    recorder = Recorder()
    async with RpcClient([anvil.url]) as rpc:
        # A poll period of an hour: only the subscription can bring these blocks in time.
        monitor = BlockMonitor(rpc, ws_url=anvil.ws_url, on_head=recorder.on_head,
                               on_logs=recorder.on_logs, poll_interval_s=3600.0)
        await nursery.start(monitor.run)
        await recorder.wait_for_block(0)
        with trio.fail_after(DEADLINE_S):
            while monitor._subscription is None or not monitor._subscription.is_subscribed:
                await trio.sleep(0.01)  # polling a real condition with a deadline
        for _ in range(3):
            await rpc.call("anvil_mine", ["0x1"])
        await rpc.call("anvil_mine", ["0x4"])
        await recorder.wait_for_block(7)
        nursery.cancel_scope.cancel()
    recorder.assert_contiguous_chain(0, 7)


async def test_interval_mining_is_followed_block_by_block(anvil_factory, nursery):
    node = anvil_factory("--block-time", "0.1")
    recorder = Recorder()
    async with RpcClient([node.url]) as rpc:
        monitor = BlockMonitor(rpc, on_head=recorder.on_head, on_logs=recorder.on_logs,
                               poll_interval_s=0.25)  # the default: 2-3 blocks per poll
        await nursery.start(monitor.run)
        first = monitor.last_delivered + 1
        await recorder.wait_for_block(first + 12)
        nursery.cancel_scope.cancel()
    recorder.assert_contiguous_chain(first, recorder.heads[-1].number)


async def test_logs_of_watched_addresses_follow_their_block_head(anvil, nursery):
    recorder = Recorder()
    async with RpcClient([anvil.url]) as rpc:
        weth = await deploy_weth9(rpc)
        other = await deploy_weth9(rpc)  # its deposits must not be delivered
        watched = [weth.upper().replace("0X", "0x")]
        monitor = BlockMonitor(rpc, ws_url=anvil.ws_url, pool_addresses=lambda: watched,
                               on_head=recorder.on_head, on_logs=recorder.on_logs,
                               poll_interval_s=0.05)
        await nursery.start(monitor.run)
        start = monitor.last_delivered + 1
        await rpc.call("evm_setAutomine", [False])
        await deposit(rpc, weth, 1)
        await deposit(rpc, other, 2)
        await deposit(rpc, weth, 3)
        await rpc.call("anvil_mine", ["0x1"])    # block A: two watched deposits
        await rpc.call("anvil_mine", ["0x1"])    # block B: nothing
        await deposit(rpc, weth, 4)
        await rpc.call("anvil_mine", ["0x1"])    # block C: one watched deposit
        block_c = await rpc.block_number()
        await recorder.wait_for_block(block_c)
        nursery.cancel_scope.cancel()
    assert [b.block_number for b in recorder.logs] == [block_c - 2, block_c]
    amounts = [[int.from_bytes(e.data, "big") for e in b.logs] for b in recorder.logs]
    assert amounts == [[1, 3], [4]]
    for block_logs in recorder.logs:
        assert all(e.address == weth.lower() and e.topics[0] == DEPOSIT_TOPIC
                   for e in block_logs.logs)
        head = next(h for h in recorder.heads if h.number == block_logs.block_number)
        assert block_logs.block_hash == head.hash
    recorder.assert_contiguous_chain(start, block_c)
    # Each block's logs come right after its own head, before the next head.
    a, c = block_c - 2, block_c
    assert recorder.events[-5:] == [("head", a), ("logs", a), ("head", a + 1), ("head", c),
                                    ("logs", c)]


@pytest.mark.parametrize("use_ws", [False, True], ids=["polling", "subscription"])
async def test_node_restart_loses_no_block(anvil_factory, nursery, tmp_path, use_ws):
    state = str(tmp_path / "anvil-state.json")
    node = anvil_factory("--state", state)
    recorder = Recorder()
    async with RpcClient([node.url], timeout_s=0.5, cooldown_s=0.05) as rpc:
        monitor = BlockMonitor(rpc, ws_url=node.ws_url if use_ws else None,
                               on_head=recorder.on_head, on_logs=recorder.on_logs,
                               poll_interval_s=0.05, retry_s=0.05, ws_reconnect_s=0.05)
        await nursery.start(monitor.run)
        await rpc.call("anvil_mine", ["0x2"])
        await recorder.wait_for_block(2)
        await trio.to_thread.run_sync(node.stop)  # anvil writes its chain to `state` on exit
        with trio.fail_after(DEADLINE_S):
            while monitor.rpc_errors == 0:
                await trio.sleep(0.01)  # polling a real condition with a deadline
        restarted = anvil_factory("--state", state, port=node.port)
        async with RpcClient([restarted.url]) as direct:
            await direct.call("anvil_mine", ["0x3"])
        await recorder.wait_for_block(5)
        nursery.cancel_scope.cancel()
    recorder.assert_contiguous_chain(0, 5)
    assert monitor.reorgs_seen == 0


async def test_a_refused_wide_log_query_is_narrowed_until_the_node_accepts(anvil, nursery):
    proxy = LogRangeLimitingProxy(anvil.url, max_blocks=3)
    await nursery.start(proxy.serve)
    recorder = Recorder()
    async with RpcClient([proxy.url]) as rpc:
        weth = await deploy_weth9(rpc)
        await rpc.call("evm_setAutomine", [False])
        await rpc.call("anvil_mine", ["0x3"])
        await deposit(rpc, weth, 7)
        await rpc.call("anvil_mine", ["0x1"])
        await rpc.call("anvil_mine", ["0x5"])
        head = await rpc.block_number()
        monitor = BlockMonitor(rpc, pool_addresses=lambda: [weth], on_head=recorder.on_head,
                               on_logs=recorder.on_logs, poll_interval_s=0.05, start_block=1)
        await nursery.start(monitor.run)
        await recorder.wait_for_block(head)
        nursery.cancel_scope.cancel()
    recorder.assert_contiguous_chain(1, head)
    assert proxy.refused >= 1 and all(hi - lo < 3 for lo, hi in proxy.served_ranges)
    [deposit_block] = recorder.logs
    assert deposit_block.block_number == head - 5
    assert int.from_bytes(deposit_block.logs[0].data, "big") == 7


def test_batches_keep_the_logs_query_with_its_anchor_header():
    calls = list(range(7))
    assert _chunks(calls, 3, keep_last=2) == [[0, 1, 2], [3, 4], [5, 6]]
    assert _chunks(calls, 4, keep_last=2) == [[0, 1, 2, 3], [4, 5, 6]]
    assert _chunks([5, 6], 4, keep_last=2) == [[5, 6]]
    assert _chunks(calls, 100, keep_last=0) == [calls]
    assert _chunks([], 100, keep_last=0) == []


def test_from_settings_polls_every_250_ms_unless_a_websocket_is_configured():
    rpc = RpcClient(["http://127.0.0.1:1"])
    noop = Recorder()
    polling = BlockMonitor.from_settings(rpc, RpcSettings(), on_head=noop.on_head,
                                         on_logs=noop.on_logs)
    assert polling.ws_url is None and polling.poll_interval_s == 0.25
    subscribed = BlockMonitor.from_settings(rpc, RpcSettings(ws_urls=["ws://a", "ws://b"]),
                                            on_head=noop.on_head, on_logs=noop.on_logs)
    assert subscribed.ws_url == ["ws://a", "ws://b"]
