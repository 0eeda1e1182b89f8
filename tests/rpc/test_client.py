"""RpcClient against real anvil nodes and real misbehaving sockets."""

from __future__ import annotations

import attrs
import pytest
import trio
from eth_account import Account

from mevbot.rpc.client import RpcClient
from mevbot.rpc.inflight import RPC_IN_FLIGHT
from mevbot.rpc.settings import RpcSettings
from mevbot.rpc.errors import (AllEndpointsFailed, EndpointUnavailable, NodeError, RateLimited,
                               RpcTimeout)
from tests.fixtures.anvil import CHAIN_ID, DEV_ACCOUNT, DEV_PRIVATE_KEY
from tests.rpc.contracts import REVERT_PAYLOAD, install_reverter, wait_receipt
from tests.rpc.servers import RawHttpServer, http_reply


async def test_basic_calls_return_typed_values(anvil):
    async with RpcClient([anvil.url]) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
        assert await rpc.block_number() == 0
        assert await rpc.get_balance(DEV_ACCOUNT) > 0
        assert await rpc.get_transaction_count(DEV_ACCOUNT, "latest") == 0
        assert await rpc.gas_price() > 0
        block = await rpc.get_block(0)
        assert block is not None and block["number"] == "0x0"
        assert await rpc.get_block(10) is None
        history = await rpc.fee_history(1, "latest", [50.0])
        assert "baseFeePerGas" in history
        assert await rpc.estimate_gas({"from": DEV_ACCOUNT, "to": DEV_ACCOUNT, "value": 1}) == 21000
        [stats] = rpc.stats()
        assert stats.calls == stats.successes == 9 and stats.errors == 0
        assert stats.latency_ewma_s is not None and stats.latency_ewma_s > 0


async def test_batch_answers_in_order_with_node_errors_in_place(anvil):
    async with RpcClient([anvil.url]) as rpc:
        reverter = await install_reverter(rpc)
        results = await rpc.batch([
            ("eth_chainId", []),
            ("eth_call", [{"to": reverter, "data": "0x"}, "latest"]),
            ("eth_no_such_method", []),
            ("eth_blockNumber", []),
        ])
        assert results[0] == hex(CHAIN_ID)
        assert isinstance(results[1], NodeError) and results[1].method == "eth_call"
        assert isinstance(results[2], NodeError) and results[2].code == -32601
        assert results[3] == "0x0"
        assert await rpc.batch([]) == []
        # One HTTP request for the whole batch (plus the anvil_setCode call).
        assert rpc.stats()[0].calls == 2


async def test_reverted_eth_call_raises_node_error_with_code_message_and_data(anvil):
    async with RpcClient([anvil.url]) as rpc:
        reverter = await install_reverter(rpc)
        with pytest.raises(NodeError) as caught:
            await rpc.eth_call(reverter, b"")
        err = caught.value
        assert err.code == 3
        assert "boom" in err.message
        assert err.data == "0x" + REVERT_PAYLOAD.hex()
        assert err.method == "eth_call" and err.endpoint == anvil.url
        # A revert is a healthy answer: no error counted, no failover.
        assert rpc.stats()[0].errors == 0


async def test_send_raw_transaction_returns_the_hash_of_a_mined_transaction(anvil):
    async with RpcClient([anvil.url]) as rpc:
        tx = Account.sign_transaction({"to": "0x" + "11" * 20, "value": 5, "gas": 21000, "nonce": 0,
                                       "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
                                       "chainId": CHAIN_ID, "type": 2}, DEV_PRIVATE_KEY)
        tx_hash = await rpc.send_raw_transaction(tx.raw_transaction)
        assert tx_hash == "0x" + tx.hash.hex().removeprefix("0x")
        receipt = await wait_receipt(rpc, tx_hash)
        assert receipt["status"] == "0x1"
        assert await rpc.get_balance("0x" + "11" * 20) == 5


async def test_primary_stopped_calls_are_served_by_the_fallback(anvil_factory):
    primary, fallback = anvil_factory(), anvil_factory()
    async with RpcClient([primary.url, fallback.url], cooldown_s=60.0) as rpc:
        await rpc.call("anvil_mine", ["0x1"])
        assert await rpc.block_number() == 1  # the primary's chain
        await trio.to_thread.run_sync(primary.stop)
        async with RpcClient([fallback.url]) as direct:
            await direct.call("anvil_mine", ["0x3"])
        for _ in range(5):
            assert await rpc.block_number() == 3  # the fallback's chain
        primary_stats, fallback_stats = rpc.stats()
        assert primary_stats.errors == 1 and primary_stats.cooling_down
        assert primary_stats.successes == 2
        assert fallback_stats.successes == 5 and fallback_stats.errors == 0


async def test_every_endpoint_down_raises_all_endpoints_failed_naming_each(anvil_factory):
    first, second = anvil_factory(), anvil_factory()
    first.stop()
    second.stop()
    async with RpcClient([first.url, second.url], retries=0) as rpc:
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.block_number()
    urls = [url for url, _ in caught.value.attempts]
    assert urls == [first.url, second.url]
    assert all(isinstance(err, EndpointUnavailable) and not err.request_sent
               for _, err in caught.value.attempts)
    assert first.url in str(caught.value) and second.url in str(caught.value)


async def test_server_that_never_answers_times_out_and_reads_fail_over(anvil, nursery):
    silent = RawHttpServer(reply=None)
    await nursery.start(silent.serve)
    async with RpcClient([silent.url, anvil.url], timeout_s=0.3) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
        silent_stats, anvil_stats = rpc.stats()
        assert silent_stats.timeouts == 1 and anvil_stats.successes == 1
    async with RpcClient([silent.url], timeout_s=0.2, retries=1, retry_backoff_s=0.0) as rpc:
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.block_number()
    assert [type(err) for _, err in caught.value.attempts] == [RpcTimeout, RpcTimeout]
    assert caught.value.attempts[0][1].seconds == 0.2


async def test_send_raw_transaction_is_not_retried_after_a_timeout(anvil, nursery):
    silent = RawHttpServer(reply=None)
    await nursery.start(silent.serve)
    tx = Account.sign_transaction({"to": "0x" + "11" * 20, "value": 5, "gas": 21000, "nonce": 0,
                                   "gasPrice": 10**10, "chainId": CHAIN_ID}, DEV_PRIVATE_KEY)
    async with RpcClient([silent.url, anvil.url], timeout_s=0.3, retries=5) as rpc:
        with pytest.raises(RpcTimeout) as caught:
            await rpc.send_raw_transaction(tx.raw_transaction)
        assert caught.value.method == "eth_sendRawTransaction"
        assert silent.requests == 1
        # The healthy fallback never saw it.
        assert rpc.stats()[1].calls == 0
        assert await rpc.call("eth_getTransactionByHash", ["0x" + tx.hash.hex().removeprefix("0x")]) is None


async def test_an_http_request_is_in_flight_until_its_answer_or_its_timeout(anvil, nursery):
    silent = RawHttpServer(reply=None)
    await nursery.start(silent.serve)
    async with RpcClient([silent.url], timeout_s=0.3, retries=0) as rpc, trio.open_nursery() as caller:
        @caller.start_soon
        async def call() -> None:
            with pytest.raises(AllEndpointsFailed):
                await rpc.block_number()

        await silent.request_seen.wait()
        assert RPC_IN_FLIGHT.count == 1  # a replay's settle check waits for it
    assert RPC_IN_FLIGHT.count == 0
    async with RpcClient([anvil.url]) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
    assert RPC_IN_FLIGHT.count == 0


async def test_send_moves_on_when_the_request_provably_never_left(anvil_factory):
    dead, live = anvil_factory(), anvil_factory()
    dead.stop()
    tx = Account.sign_transaction({"to": "0x" + "11" * 20, "value": 5, "gas": 21000, "nonce": 0,
                                   "gasPrice": 10**10, "chainId": CHAIN_ID}, DEV_PRIVATE_KEY)
    async with RpcClient([dead.url, live.url]) as rpc:
        tx_hash = await rpc.send_raw_transaction(tx.raw_transaction)
        assert (await wait_receipt(rpc, tx_hash))["status"] == "0x1"


async def test_proxy_error_page_is_endpoint_unavailable_and_reads_fail_over(anvil, nursery):
    proxy = RawHttpServer(reply=http_reply("502 Bad Gateway", b"<html>bad gateway</html>"))
    await nursery.start(proxy.serve)
    async with RpcClient([proxy.url, anvil.url]) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
    async with RpcClient([proxy.url], retries=0) as rpc:
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.chain_id()
    [(url, err)] = caught.value.attempts
    assert isinstance(err, EndpointUnavailable) and "HTTP 502" in str(err)


async def test_node_http_429_is_rate_limited_and_reads_fail_over(anvil, nursery):
    busy = RawHttpServer(reply=http_reply("429 Too Many Requests", b"slow down", "text/plain")
                         .replace(b"\r\n\r\n", b"\r\nretry-after: 2\r\n\r\n", 1))
    await nursery.start(busy.serve)
    async with RpcClient([busy.url, anvil.url]) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
        assert rpc.stats()[0].rate_limited == 1
    async with RpcClient([busy.url], retries=0) as rpc:
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.chain_id()
    [(_, err)] = caught.value.attempts
    assert isinstance(err, RateLimited) and err.retry_after_s == 2.0


async def test_rate_limit_holds_under_a_real_burst(anvil):
    rate, burst, requests = 20.0, 4, 12
    done: list[float] = []
    async with RpcClient([anvil.url], rate_per_s=rate, burst=burst) as rpc:
        start = trio.current_time()

        async def one() -> None:
            await rpc.block_number()
            done.append(trio.current_time() - start)

        async with trio.open_nursery() as burst_nursery:
            for _ in range(requests):
                burst_nursery.start_soon(one)
    done.sort()
    assert len(done) == requests
    # The k-th completion (1-based) cannot come before its token: (k - burst) / rate.
    for k, t in enumerate(done, start=1):
        assert t >= (k - burst) / rate - 1e-3, (k, t)


async def test_rate_limit_with_no_wait_refuses_the_excess_at_once(anvil):
    async with RpcClient([anvil.url], rate_per_s=1.0, burst=3, rate_limit_wait_s=0.0,
                         retries=0) as rpc:
        outcomes: list[str] = []

        async def one() -> None:
            try:
                await rpc.block_number()
                outcomes.append("ok")
            except AllEndpointsFailed as err:
                assert isinstance(err.attempts[0][1], RateLimited)
                outcomes.append("limited")

        async with trio.open_nursery() as burst_nursery:
            for _ in range(8):
                burst_nursery.start_soon(one)
    # 1 token/s: within this sub-second burst at most one more token can have appeared.
    assert outcomes.count("ok") in (3, 4)
    assert outcomes.count("limited") == 8 - outcomes.count("ok")


async def test_sequential_calls_reuse_one_kept_alive_connection(nursery):
    answer = b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'
    node = RawHttpServer(reply=http_reply("200 OK", answer, "application/json"))
    await nursery.start(node.serve)
    async with RpcClient([node.url]) as rpc:
        for _ in range(5):
            assert await rpc.block_number() == 1
    assert node.requests == 5 and node.connections == 1


async def test_reloaded_settings_change_rate_timeout_and_retries_live(anvil):
    settings = RpcSettings(http_urls=[anvil.url], rate_per_s=1000.0, burst=100)
    async with RpcClient.from_settings(settings) as rpc:
        assert await rpc.chain_id() == CHAIN_ID
        rpc.apply_settings(attrs.evolve(settings, rate_per_s=1.0, burst=1, rate_limit_wait_s=0.0,
                                        retries=0, timeout_s=0.7))
        assert rpc.timeout_s == 0.7 and rpc.retries == 0
        with pytest.raises(AllEndpointsFailed) as caught:
            await rpc.chain_id()  # the bucket kept its level (99) but now holds at most 1...
            await rpc.chain_id()  # ...so the second call in the same instant is refused
        assert isinstance(caught.value.attempts[0][1], RateLimited)


@pytest.mark.parametrize("url", ["", "127.0.0.1:8545", "ftp://node"])
def test_an_endpoint_url_without_http_scheme_is_refused_with_a_message(url):
    with pytest.raises(ValueError, match="http"):
        RpcClient([url])
