"""The fast ABI reader agrees with eth_abi: same values on valid encodings of every type list
the routers use, and on mutated encodings it never accepts what eth_abi rejects as malformed
nor rejects what eth_abi accepts."""

import pytest
from eth_abi import decode as reference_decode
from eth_abi import encode
from eth_abi.exceptions import DecodingError
from hypothesis import given, settings
from hypothesis import strategies as st

from mevbot.parser.abi_reader import AbiDecodeError, decode

TYPE_LISTS = [
    ("uint256", "uint256", "address[]", "address", "uint256"),
    ("uint256", "address[]", "address", "uint256"),
    ("(address,address,uint24,address,uint256,uint256,uint256,uint160)",),
    ("(address,address,uint24,address,uint256,uint256,uint160)",),
    ("(bytes,address,uint256,uint256,uint256)",),
    ("(bytes,address,uint256,uint256)",),
    ("uint256", "bytes[]"),
    ("bytes32", "bytes[]"),
    ("bytes", "bytes[]", "uint256"),
    ("address", "uint256", "uint256", "bytes", "bool"),
    ("address", "uint256", "uint256", "address[]", "bool"),
]

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


def values_for(t):
    if t.endswith("[]"):
        return st.lists(values_for(t[:-2]), max_size=4).map(tuple)
    if t.startswith("("):
        from mevbot.parser.abi_reader import _split_tuple
        return st.tuples(*(values_for(p) for p in _split_tuple(t[1:-1])))
    if t == "address":
        return addresses
    if t == "bool":
        return st.booleans()
    if t == "bytes32":
        return st.binary(min_size=32, max_size=32)
    if t == "bytes":
        return st.binary(max_size=80)
    bits = int(t[4:])
    return st.integers(0, 2**bits - 1)


def normalise(value):
    if isinstance(value, (tuple, list)):
        return tuple(normalise(v) for v in value)
    if isinstance(value, str):
        return value.lower()
    return value


@st.composite
def encoded(draw):
    types = draw(st.sampled_from(TYPE_LISTS))
    values = draw(st.tuples(*(values_for(t) for t in types)))
    return types, values, encode(list(types), list(values))


@settings(max_examples=300)
@given(encoded())
def test_valid_encodings_decode_to_the_same_values_as_eth_abi(case):
    types, values, data = case
    assert decode(types, data) == normalise(reference_decode(types, data)) == normalise(values)


def _outcome(fn):
    try:
        return ("ok", normalise(fn()))
    except (DecodingError, AbiDecodeError, OverflowError):
        return ("error", None)


@settings(max_examples=600)
@given(encoded(), st.data())
def test_mutated_encodings_are_accepted_or_rejected_exactly_as_eth_abi_does(case, data):
    types, _, encoding = case
    buf = bytearray(encoding)
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["byte", "truncate", "word"]))
        if op == "byte" and buf:
            buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
        elif op == "truncate" and buf:
            del buf[data.draw(st.integers(0, len(buf) - 1)):]
        elif op == "word" and len(buf) >= 32:
            i = 32 * data.draw(st.integers(0, len(buf) // 32 - 1))
            buf[i:i + 32] = data.draw(st.sampled_from(
                [b"\xff" * 32, (2**64).to_bytes(32, "big"), (len(buf) + 32).to_bytes(32, "big"), bytes(32),
                 (32).to_bytes(32, "big")]))
    mutated = bytes(buf)
    assert _outcome(lambda: decode(types, mutated)) == _outcome(lambda: reference_decode(types, mutated))


def test_errors_say_where():
    with pytest.raises(AbiDecodeError, match="offset 0 runs past the end"):
        decode(["uint256"], b"")
    with pytest.raises(AbiDecodeError, match="nonzero high bytes"):
        decode(["address"], b"\x01" * 32)
