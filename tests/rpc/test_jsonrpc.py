"""Reading JSON-RPC answers and chain data: malformed input is a typed error naming the place."""

from __future__ import annotations

import pytest

from mevbot.rpc import jsonrpc
from mevbot.rpc.chaindata import read_block_head, read_log, read_quantity, tx_object
from mevbot.rpc.errors import BadResponse, EndpointUnavailable, NodeError

URL = "http://node"


def test_error_object_becomes_node_error_with_code_message_and_data():
    with pytest.raises(NodeError) as caught:
        jsonrpc.read_response({"jsonrpc": "2.0", "id": 1,
                               "error": {"code": 3, "message": "execution reverted", "data": "0x08"}},
                              URL, "eth_call")
    assert (caught.value.code, caught.value.message, caught.value.data) == (3, "execution reverted", "0x08")
    assert "eth_call on http://node" in str(caught.value)


@pytest.mark.parametrize("body", [b"<html>", b"", b"\xff\xfe"])
def test_non_json_body_is_endpoint_unavailable(body):
    with pytest.raises(EndpointUnavailable, match="not JSON"):
        jsonrpc.decode_body(body, URL, "eth_chainId")


@pytest.mark.parametrize("obj", [[], "x", {"jsonrpc": "2.0", "id": 1}])
def test_response_without_result_or_error_is_endpoint_unavailable(obj):
    with pytest.raises(EndpointUnavailable):
        jsonrpc.read_response(obj, URL, "eth_chainId")


def test_batch_answers_are_matched_by_id_whatever_their_order():
    answer = [{"id": 2, "result": "0x2"}, {"id": 1, "error": {"code": -32601, "message": "nope"}},
              {"id": 3, "result": None}]
    results = jsonrpc.read_batch(answer, [1, 2, 3], ["a", "b", "c"], URL)
    assert isinstance(results[0], NodeError) and results[0].method == "a"
    assert results[1:] == ["0x2", None]


def test_batch_missing_an_answer_or_rejected_whole_is_a_typed_error():
    with pytest.raises(EndpointUnavailable, match="id 2"):
        jsonrpc.read_batch([{"id": 1, "result": "0x1"}], [1, 2], ["a", "b"], URL)
    with pytest.raises(NodeError, match="batch too large"):
        jsonrpc.read_batch({"error": {"code": -32600, "message": "batch too large"}}, [1], ["a"], URL)


def test_idempotency_is_by_method_name():
    assert jsonrpc.is_idempotent("eth_call") and jsonrpc.is_idempotent("eth_getLogs")
    assert not jsonrpc.is_idempotent("eth_sendRawTransaction")
    assert not jsonrpc.is_idempotent("eth_sendTransaction")


@pytest.mark.parametrize("value", [None, 12, "12", "0x", "0xzz"])
def test_bad_quantity_names_the_field(value):
    with pytest.raises(BadResponse, match="block.number"):
        read_quantity(value, "block.number")


def test_block_head_and_log_are_read_from_json_rpc_objects():
    head = read_block_head({"number": "0x10", "hash": "0x" + "ab" * 32, "parentHash": "0x" + "cd" * 32,
                            "timestamp": "0x5", "gasLimit": "0x1c9c380", "gasUsed": "0x0"})
    assert head.number == 16 and head.base_fee_per_gas is None and head.hash == "0x" + "ab" * 32
    entry = read_log({"address": "0x" + "AA" * 20, "topics": ["0x" + "01" * 32], "data": "0x0102",
                      "blockNumber": "0x10", "blockHash": "0x" + "ab" * 32,
                      "transactionHash": "0x" + "ef" * 32, "transactionIndex": "0x0",
                      "logIndex": "0x3"})
    assert entry.address == "0x" + "aa" * 20 and entry.topics == (b"\x01" * 32,)
    assert entry.data == b"\x01\x02" and entry.log_index == 3 and not entry.removed


def test_malformed_block_or_log_is_bad_response_naming_the_field():
    with pytest.raises(BadResponse, match="missing field 'hash'"):
        read_block_head({"number": "0x1"})
    with pytest.raises(BadResponse, match="log.address"):
        read_log({"address": "0x1234", "topics": [], "data": "0x"})


def test_tx_object_turns_ints_into_quantities_and_bytes_into_data():
    assert tx_object({"value": 16, "data": b"\x01", "to": "0xab"}) == {"value": "0x10", "data": "0x01",
                                                                      "to": "0xab"}


def test_positional_params_are_a_list_and_named_params_an_object():
    assert jsonrpc.request_object(1, "m", ("a", 1))["params"] == ["a", 1]
    assert jsonrpc.request_object(2, "m", {"k": 1})["params"] == {"k": 1}
