"""The block monitor: every new block's header, in order, then the logs of the watched pools.

Where new heads come from: a ``newHeads`` subscription when a WebSocket URL is configured, else
``eth_blockNumber`` polled every ``poll_interval_s`` (250 ms by default). The poller also covers
for the subscription while it is down, refused, or silent for ``ws_stale_s``. Either source only
*raises the target*: the delivery loop then walks block numbers one by one from the last
delivered block to the target, so a jump from N to N+3 delivers N+1, N+2, N+3 and no block is
ever skipped or repeated.

For each range of blocks (at most ``log_range_blocks``) the loop reads, in one batch request
where it fits, the headers it has not seen on the subscription and, when ``pool_addresses()``
names any, one ``eth_getLogs`` filtered by those addresses together with the header of the
range's last block (so the node answering for the logs is shown to have the blocks). It then
calls ``on_head(BlockHead)`` for each block and, for a block with logs of a watched address,
``on_logs(BlockLogs)``. Logs or headers whose hashes disagree (the chain moved between reads)
make the range be read again; a node that refuses the log query (too wide, too many results)
gets half the range until it accepts. An RPC failure is logged
once per outage and the same range is retried after ``retry_s``: the loop never dies from a node's
failure and never advances past a block it has not delivered. Errors raised by the callbacks are
bugs of the caller and propagate.

The lead wires ``on_head`` to the ``chain.head`` topic and ``on_logs`` to ``market.pool.logs``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import trio

from mevbot.rpc.chaindata import (BlockHead, BlockLogs, LogEntry, log_filter, read_block_head,
                                  read_log, to_quantity)
from mevbot.rpc.client import RpcClient
from mevbot.rpc.errors import BadResponse, NodeError, RpcError, SubscriptionError
from mevbot.rpc.subscriptions import Subscription, open_subscription

if TYPE_CHECKING:
    from mevbot.rpc.settings import RpcSettings

log = logging.getLogger(__name__)

HEADERS_PER_BATCH = 100


class BlockMonitor:
    def __init__(self, rpc: RpcClient, *, ws_url: str | list[str] | None = None,
                 pool_addresses: Callable[[], Iterable[str]] = lambda: (),
                 on_head: Callable[[BlockHead], Awaitable[None]],
                 on_logs: Callable[[BlockLogs], Awaitable[None]],
                 poll_interval_s: float = 0.25, log_range_blocks: int = 500,
                 start_block: int | None = None, retry_s: float = 0.25,
                 ws_stale_s: float = 5.0, ws_reconnect_s: float = 0.5) -> None:
        if log_range_blocks < 1:
            raise ValueError(f"log_range_blocks must be at least 1, got {log_range_blocks}")
        self.rpc = rpc
        self.ws_url = ws_url or None
        self.pool_addresses = pool_addresses
        self.on_head = on_head
        self.on_logs = on_logs
        self.poll_interval_s = poll_interval_s
        self.log_range_blocks = log_range_blocks
        self.start_block = start_block
        self.retry_s = retry_s
        self.ws_stale_s = ws_stale_s
        self.ws_reconnect_s = ws_reconnect_s
        # Progress and counters (read by metrics and tests).
        self.last_delivered: int | None = None
        self.target = -1
        self.heads_delivered = 0
        self.log_batches_delivered = 0
        self.rpc_errors = 0
        self.reorgs_seen = 0
        self._last_hash: str | None = None
        self._known_heads: dict[int, BlockHead] = {}
        self._wake = trio.Event()
        self._subscription: Subscription | None = None
        self._last_ws_head_at = float("-inf")
        self._failing = False
        self._range_blocks = log_range_blocks

    @classmethod
    def from_settings(cls, rpc: RpcClient, settings: RpcSettings, **kwargs) -> BlockMonitor:
        return cls(rpc, ws_url=list(settings.ws_urls) or None,
                   poll_interval_s=settings.poll_interval_s,
                   log_range_blocks=settings.log_range_blocks,
                   ws_reconnect_s=settings.ws_reconnect_s, **kwargs)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Follow the chain until cancelled; started once the current head number is known."""
        head = await self._read_head_until_it_answers()
        first = self.start_block if self.start_block is not None else head
        self.last_delivered = first - 1
        self._raise_target(head)
        async with trio.open_nursery() as nursery:
            if self.ws_url:
                nursery.start_soon(self._follow_subscription)
            nursery.start_soon(self._poll)
            task_status.started()
            await self._deliver_forever()

    # -- head sources ------------------------------------------------------------------------

    def _raise_target(self, number: int) -> None:
        if number > self.target:
            self.target = number
            self._wake.set()

    async def _read_head_until_it_answers(self) -> int:
        while True:
            try:
                number = await self.rpc.block_number()
            except RpcError as err:
                self._note_failure("reading the head number", err)
                await trio.sleep(self.retry_s)
                continue
            self._note_recovery()
            return number

    async def _refresh_target(self) -> None:
        try:
            self._raise_target(await self.rpc.block_number())
        except RpcError as err:
            self._note_failure("polling the head number", err)

    def _subscription_is_live(self) -> bool:
        return (self._subscription is not None and self._subscription.is_subscribed
                and trio.current_time() - self._last_ws_head_at < self.ws_stale_s)

    async def _poll(self) -> None:
        while True:
            if not self._subscription_is_live():
                await self._refresh_target()
            await trio.sleep(self.poll_interval_s)  # the polling period

    async def _follow_subscription(self) -> None:
        async def resubscribed() -> None:
            self._last_ws_head_at = trio.current_time()
            await self._refresh_target()  # heads sent while we were away are not replayed

        try:
            async with open_subscription(self.ws_url, "newHeads", timeout_s=self.rpc.timeout_s,
                                         reconnect_s=self.ws_reconnect_s,
                                         on_subscribed=resubscribed) as subscription:
                self._subscription = subscription
                async for header in subscription:
                    try:
                        head = read_block_head(header, "newHeads")
                    except BadResponse as err:
                        log.warning("block monitor: ignoring a malformed newHeads header: %s", err)
                        continue
                    self._last_ws_head_at = trio.current_time()  # only good heads count as live
                    if self.last_delivered is None or head.number > self.last_delivered:
                        self._known_heads[head.number] = head
                    self._raise_target(head.number)
        except SubscriptionError as err:
            log.error("block monitor: %s; polling instead", err)
        finally:
            self._subscription = None

    # -- delivery ----------------------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while True:
            assert self.last_delivered is not None
            while self.target <= self.last_delivered:
                self._wake = trio.Event()
                await self._wake.wait()
            low = self.last_delivered + 1
            high = min(self.target, low + self._range_blocks - 1)
            try:
                await self._deliver_range(low, high)
            except NodeError as err:
                if err.method == "eth_getLogs" and high > low:
                    # Too many logs or too wide a range for this node: ask for less.
                    self._range_blocks = max(1, (high - low + 1) // 2)
                    log.info("block monitor: eth_getLogs over blocks %d..%d refused (%s); "
                             "narrowing to %d blocks", low, high, err.message, self._range_blocks)
                    continue
                self._note_failure(f"reading blocks {low}..{high}", err)
                await trio.sleep(self.retry_s)
            except RpcError as err:
                self._note_failure(f"reading blocks {low}..{high}", err)
                await trio.sleep(self.retry_s)  # back-off before reading the range again
            else:
                self._range_blocks = min(self.log_range_blocks, self._range_blocks * 2)

    async def _deliver_range(self, low: int, high: int) -> None:
        heads, logs = await self._read_range(low, high)
        logs_by_block: dict[int, list[LogEntry]] = {}
        for entry in logs:
            head = heads.get(entry.block_number)
            if head is None or head.hash != entry.block_hash:
                self._forget_heads(low, high)
                raise BadResponse("eth_getLogs", f"log of block {entry.block_number} has block "
                                  f"hash {entry.block_hash}, not the header's: the chain moved "
                                  "between the reads; reading the range again")
            if not entry.removed:
                logs_by_block.setdefault(entry.block_number, []).append(entry)
        self._note_recovery()
        for number in range(low, high + 1):
            head = heads[number]
            if self._last_hash is not None and head.parent_hash != self._last_hash:
                self.reorgs_seen += 1
                log.warning("block monitor: block %d does not extend the last delivered block "
                            "(parent %s, expected %s): reorg", number, head.parent_hash,
                            self._last_hash)
            await self.on_head(head)
            self.heads_delivered += 1
            entries = logs_by_block.get(number)
            if entries:
                entries.sort(key=lambda e: e.log_index)
                await self.on_logs(BlockLogs(number, head.hash, tuple(entries)))
                self.log_batches_delivered += 1
            self.last_delivered, self._last_hash = number, head.hash
            self._known_heads.pop(number, None)

    async def _read_range(self, low: int, high: int) -> tuple[dict[int, BlockHead], list[LogEntry]]:
        """Headers of ``low..high`` and the watched logs, in as few batch requests as fit.

        Headers already seen on the subscription are not read again. The logs query travels
        with a read of block ``high`` in the same request, so the endpoint that answers it is
        shown to have that block (a lagging node would otherwise answer "no logs" for a block it
        does not have yet, and they would be lost).
        """
        heads = {n: self._known_heads[n] for n in range(low, high + 1) if n in self._known_heads}
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getBlockByNumber", [to_quantity(n), False])
            for n in range(low, high + 1) if n not in heads]
        addresses = sorted({address.lower() for address in self.pool_addresses()})
        if addresses:
            calls.append(("eth_getBlockByNumber", [to_quantity(high), False]))
            calls.append(("eth_getLogs", [log_filter({"fromBlock": low, "toBlock": high,
                                                      "address": addresses})]))
        results: list[Any] = []
        for chunk in _chunks(calls, HEADERS_PER_BATCH, keep_last=2 if addresses else 0):
            results.extend(await self.rpc.batch(chunk))
        for (method, params), result in zip(calls, results):
            if isinstance(result, NodeError):
                raise result
            if method == "eth_getBlockByNumber":
                number = int(params[0], 16)
                if result is None:
                    raise BadResponse("eth_getBlockByNumber",
                                      f"block {number} is not available yet on the endpoint")
                head = read_block_head(result, f"block {number}")
                if head.number != number:
                    raise BadResponse("eth_getBlockByNumber", f"asked for block {number}",
                                      head.number)
                if number in heads and heads[number].hash != head.hash:
                    self._forget_heads(low, high)
                    raise BadResponse("eth_getBlockByNumber", f"block {number} changed hash "
                                      "between reads; reading the range again", head.hash)
                heads[number] = head
        logs: list[LogEntry] = []
        if addresses:
            if not isinstance(results[-1], list):
                raise BadResponse("eth_getLogs", "expected a list of logs", results[-1])
            logs = [read_log(item, "eth_getLogs") for item in results[-1]]
        return heads, logs

    def _forget_heads(self, low: int, high: int) -> None:
        for number in range(low, high + 1):
            self._known_heads.pop(number, None)

    def _note_failure(self, doing: str, err: RpcError) -> None:
        self.rpc_errors += 1
        if not self._failing:
            self._failing = True
            log.warning("block monitor: failed %s (%s); retrying every %.2f s", doing, err,
                        self.retry_s)

    def _note_recovery(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("block monitor: RPC answers again; following the chain from block %s",
                        None if self.last_delivered is None else self.last_delivered + 1)


def _chunks(calls: list, size: int, keep_last: int) -> list[list]:
    """Split ``calls`` into requests of at most ``size``, the last ``keep_last`` together."""
    head, tail = calls[:len(calls) - keep_last], calls[len(calls) - keep_last:]
    chunks = [head[i:i + size] for i in range(0, len(head), size)]
    if tail:
        if chunks and len(chunks[-1]) + len(tail) <= size:
            chunks[-1] = chunks[-1] + tail
        else:
            chunks.append(tail)
    return chunks
