"""The replay's settle check over two real placed buses linked by a Unix socket (one trio run).

Both buses run in this process, so "idle" here means both are; what is checked is the rest of
the four-counter method: the probes' own frames and the connections' Hello frames are taken out
of the counts (a balanced, quiet placement settles at once, wave after wave), a handler's
work and the messages it sends back are waited for, so is a node's answer to an RPC request,
and a link that lost a frame is named.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, serve_websocket

from mevbot.bus.bus import Bus
from mevbot.bus.settings import BusSettings, DeploySettings, ProcessSettings
from mevbot.replay.settle import SETTLE_CUSHION_S, NotSettled, Settler, serve_settle_probes
from mevbot.rpc.ws_calls import WsCalls
from tests.bus.messages import Tick


def _placed_bus(process: str, folder: Path) -> Bus:
    deploy = DeploySettings(process=process, processes={
        "feed": ProcessSettings("local", ["monitor"], str(folder / "feed.sock")),
        "scan": ProcessSettings("local", ["scanner"], str(folder / "scan.sock")),
    })
    return Bus(BusSettings(persist_path=""), process=process, deploy=deploy)


async def _linked(nursery, folder: Path) -> tuple[Bus, Bus]:
    feed, scan = _placed_bus("feed", folder), _placed_bus("scan", folder)
    await nursery.start(scan.run)
    await nursery.start(feed.run)  # 'feed' < 'scan': feed dials
    await nursery.start(serve_settle_probes, feed)
    await nursery.start(serve_settle_probes, scan)
    return feed, scan


async def test_a_quiet_placement_settles_wave_after_wave_and_a_handlers_work_is_waited_for():
    with tempfile.TemporaryDirectory(prefix="mbst") as name:
        async with trio.open_nursery() as nursery:
            feed, scan = await _linked(nursery, Path(name))
            settler = Settler(feed, ["feed", "scan"])
            await settler.wait_ready(5)
            for _ in range(3):  # the probes of each settle are counted out of the next
                with trio.fail_after(5):
                    await settler.settle(5)

            handled, echoed = [], []
            work = scan.subscribe("work.item")
            back = feed.subscribe("work.done")

            async def worker() -> None:
                async for env in work:
                    for _ in range(200):  # a handler that takes many scheduler steps
                        await trio.lowlevel.checkpoint()
                    handled.append(env.payload.seq)
                    await scan.publish("work.done", Tick(env.payload.seq))

            async def collector() -> None:
                async for env in back:
                    echoed.append(env.payload.seq)

            nursery.start_soon(worker)
            nursery.start_soon(collector)
            with trio.fail_after(5):
                while not feed.links["scan"].wants("work.item"):
                    await trio.sleep(0.005)  # the subscription's Interest crossing the link
                await settler.settle(5)
            for seq in range(5):
                await feed.publish("work.item", Tick(seq))
                with trio.fail_after(5):
                    await settler.settle(5)
                assert handled == list(range(seq + 1)) and echoed == list(range(seq + 1))
            nursery.cancel_scope.cancel()


async def test_a_link_that_lost_a_frame_never_settles_and_is_named():
    with tempfile.TemporaryDirectory(prefix="mbst") as name:
        async with trio.open_nursery() as nursery:
            feed, scan = await _linked(nursery, Path(name))
            settler = Settler(feed, ["feed", "scan"])
            await settler.wait_ready(5)
            await settler.settle(5)
            feed.links["scan"].lanes["fast"].sent += 1  # as if a frame was written and never arrived
            with pytest.raises(NotSettled) as info:
                await settler.settle(0.5)
            assert "feed sent" in str(info.value) and "frames to scan, which received" in str(info.value)
            nursery.cancel_scope.cancel()


async def test_a_process_that_never_answers_is_named():
    with tempfile.TemporaryDirectory(prefix="mbst") as name:
        async with trio.open_nursery() as nursery:
            folder = Path(name)
            feed, scan = _placed_bus("feed", folder), _placed_bus("scan", folder)
            await nursery.start(scan.run)
            await nursery.start(feed.run)
            await nursery.start(serve_settle_probes, feed)  # scan runs no responder
            with pytest.raises(NotSettled, match=r"process\(es\) scan did not answer within 0.3 s"):
                await Settler(feed, ["feed", "scan"]).wait_ready(0.3)
            nursery.cancel_scope.cancel()


async def test_a_process_waiting_for_an_rpc_answer_is_not_idle_however_slow_the_node():
    """A module waiting on a node looks blocked to the scheduler; the settle waits for its answer."""
    asked, release = trio.Event(), trio.Event()

    async def node(request) -> None:  # a real WebSocket endpoint that answers when the test says
        ws = await request.accept()
        call = json.loads(await ws.get_message())
        asked.set()
        await release.wait()
        await ws.send_message(json.dumps({"jsonrpc": "2.0", "id": call["id"], "result": "0x2a"}))
        with contextlib.suppress(ConnectionClosed):
            await ws.get_message()

    with tempfile.TemporaryDirectory(prefix="mbst") as name:
        async with trio.open_nursery() as nursery:
            feed, _ = await _linked(nursery, Path(name))
            settler = Settler(feed, ["feed", "scan"])
            await settler.wait_ready(5)
            server = await nursery.start(serve_websocket, node, "127.0.0.1", 0, None)
            async with WsCalls(f"ws://127.0.0.1:{server.port}", timeout_s=30) as calls:
                await calls.wait_connected()
                answers, settled = [], trio.Event()

                async def module() -> None:
                    answers.append(await calls.call("eth_blockNumber"))

                async def settle() -> None:
                    await settler.settle(30)
                    settled.set()

                nursery.start_soon(module)
                await asked.wait()
                nursery.start_soon(settle)
                await trio.testing.wait_all_tasks_blocked(20 * SETTLE_CUSHION_S)
                assert not settled.is_set() and answers == []
                release.set()
                with trio.fail_after(5):
                    await settled.wait()
                assert answers == ["0x2a"]
            nursery.cancel_scope.cancel()
