"""Property tests: random and mutated calldata and logs never make the parser raise; they
come back as typed errors counted by kind, and never as an internal error."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mevbot.parser.calldata import SIGNATURES, CalldataParser
from mevbot.parser.errors import LogDecodeError
from mevbot.parser.logs import EVENT_SIGNATURES, LogParser, decode_log
from mevbot.parser.messages import FeedPosition
from tests.parser.builders import (ROUTERS, SR02, UR, USER, V2_ROUTER, V3_ROUTER, A, B, C, call, make_registry,
                                   ur_execute, ur_swap, ur_wrap, v3_path)
from eth_utils import keccak

PARSER = CalldataParser(make_registry(), ROUTERS)
POS = FeedPosition(0, 0)
SELECTORS = sorted({keccak(text=s)[:4] for sigs in SIGNATURES.values() for s in sigs})
VALID = [
    (V2_ROUTER, call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
                     ["uint256", "uint256", "address[]", "address", "uint256"], [100, 1, [A, B, C], USER, 7])),
    (V3_ROUTER, call("multicall(bytes[])", ["bytes[]"], [[call(
        "exactInput((bytes,address,uint256,uint256,uint256))", ["(bytes,address,uint256,uint256,uint256)"],
        [(v3_path(A, 500, B, 3000, C), USER, 9, 1000, 1)])]])),
    (SR02, call("multicall(uint256,bytes[])", ["uint256", "bytes[]"], [5, [call(
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        ["(address,address,uint24,address,uint256,uint256,uint160)"], [(A, B, 500, USER, 0, 900, 0)])]])),
    (UR, ur_execute(bytes([0x0B, 0x00, 0x89]), [ur_wrap(USER, 5), ur_swap(USER, 5, 1, v3_path(A, 500, B)),
                                                  ur_swap(USER, 5, 1, [B, C])], deadline=3)),
]
ROUTER_ADDRESSES = [V2_ROUTER, V3_ROUTER, SR02, UR]


def _parse(to, data, value=0):
    intents = PARSER.parse(to, data, value, tx_hash="0x00", position=POS)
    assert PARSER.counters["internal_error"] == 0
    return intents


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ROUTER_ADDRESSES), st.sampled_from(SELECTORS), st.binary(max_size=600),
       st.integers(0, 2**256 - 1))
def test_random_bytes_after_a_known_selector_never_raise(to, selector, body, value):
    _parse(to, selector + body, value)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_calldata_never_raises(case, data):
    to, calldata = case
    buf = bytearray(calldata)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "truncate", "extend", "word"]))
        if op == "flip" and buf:
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] = data.draw(st.integers(0, 255))
        elif op == "truncate" and buf:
            del buf[data.draw(st.integers(0, len(buf) - 1)):]
        elif op == "extend":
            buf += data.draw(st.binary(max_size=64))
        elif op == "word" and len(buf) > 36:
            i = 4 + 32 * data.draw(st.integers(0, (len(buf) - 4) // 32 - 1))
            buf[i:i + 32] = data.draw(st.sampled_from([b"\xff" * 32, b"\x00" * 31 + b"\x40", (2**64).to_bytes(32, "big")]))
    _parse(to, bytes(buf))


TOPIC0S = ["0x" + keccak(text=s).hex() for s in EVENT_SIGNATURES.values()]
hexish = st.one_of(st.binary(max_size=200).map(lambda b: "0x" + b.hex()), st.binary(max_size=64), st.text(max_size=20),
                   st.integers(), st.none())


@settings(max_examples=400)
@given(st.sampled_from(TOPIC0S), st.lists(hexish, max_size=5), hexish, hexish, hexish,
       st.one_of(st.just("0x" + "9a" * 20), hexish))
def test_random_logs_with_known_topics_raise_only_typed_errors(topic0, topics, data, block, index, address):
    entry = {"address": address, "topics": [topic0, *topics], "data": data, "blockNumber": block, "logIndex": index}
    try:
        decode_log(entry)
    except LogDecodeError:
        pass
    parser = LogParser()
    parser.parse(entry)
    assert sum(parser.counters.values()) == 1


@settings(max_examples=300)
@given(st.sampled_from(TOPIC0S), st.integers(0, 4), st.binary(min_size=0, max_size=200))
def test_well_formed_envelopes_with_random_words_decode_or_fail_typed(topic0, n_topics, data):
    entry = {"address": "0x" + "9a" * 20, "topics": [topic0] + ["0x" + "00" * 31 + "01"] * n_topics,
             "data": "0x" + data.hex()}
    try:
        decode_log(entry)
    except LogDecodeError:
        pass
