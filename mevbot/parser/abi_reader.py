"""A strict, fast reader of the ABI encodings router calldata uses.

eth_abi's general decoder spends most of a swap's parse time in per-value dispatch and in
checksumming every address (``bench/parser.py``). Router arguments use a handful of types —
``uint<N>``, ``address``, ``bool``, ``bytes32``, ``bytes``, ``T[]`` and tuples of those — so
this module compiles each type list once into plain functions over the calldata bytes.

It accepts and rejects exactly what eth_abi's strict mode does for these types: every word
read must lie inside the data, a pointer must land after its head's offsets and inside the
data, lengths must fit, an address's 12 high bytes,
a ``uint<N>``'s high bits and the padding after ``bytes`` must be zero, and a bool is 0 or 1.
Addresses come back as lowercase 0x-hex (not checksummed). Trailing bytes after the encoding
are accepted, as Solidity accepts them. tests/parser/test_abi_reader.py cross-checks it against
eth_abi on random values and on mutated encodings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

_FROM = int.from_bytes


class AbiDecodeError(ValueError):
    """The bytes are not a valid encoding of the type list (message says where and why)."""


# A compiled type: (is_dynamic, head_size, read(data, pos) -> value). For a dynamic type, pos is
# where its tail starts; for a static one, where its head starts.
_Reader = Callable[[bytes, int], Any]
_Compiled = tuple[bool, int, _Reader]


def _split_tuple(inner: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [p for p in parts if p]


def _word(data: bytes, pos: int) -> bytes:
    if pos < 0 or pos + 32 > len(data):
        raise AbiDecodeError(f"32-byte word at offset {pos} runs past the end ({len(data)} bytes)")
    return data[pos:pos + 32]


def _offset(data: bytes, pos: int, base: int, end_of_offsets: int) -> int:
    """Follow the pointer at ``pos`` (relative to ``base``): like eth_abi, it must land after the
    head's offsets and inside the data."""
    target = base + _FROM(_word(data, pos), "big")
    if not end_of_offsets <= target < len(data):
        raise AbiDecodeError(f"pointer at {pos} to {target} is outside [{end_of_offsets}, {len(data)})")
    return target


@functools.lru_cache(maxsize=None)
def _compile(type_str: str) -> _Compiled:
    if type_str.endswith("[]"):
        return _compile_array(_compile(type_str[:-2]))
    if type_str.startswith("(") and type_str.endswith(")"):
        return _compile_tuple(tuple(_compile(t) for t in _split_tuple(type_str[1:-1])))
    if type_str == "address":
        def read_address(data: bytes, pos: int) -> str:
            word = _word(data, pos)
            if word[:12] != b"\x00" * 12:
                raise AbiDecodeError(f"address at {pos} has nonzero high bytes")
            return "0x" + word[12:].hex()
        return False, 32, read_address
    if type_str == "bool":
        def read_bool(data: bytes, pos: int) -> bool:
            value = _FROM(_word(data, pos), "big")
            if value > 1:
                raise AbiDecodeError(f"bool at {pos} is {value}, expected 0 or 1")
            return bool(value)
        return False, 32, read_bool
    if type_str == "bytes32":
        return False, 32, _word
    if type_str == "bytes":
        return True, 32, _read_bytes
    if type_str.startswith("uint"):
        bits = int(type_str[4:] or 256)
        if bits == 256:
            return False, 32, lambda data, pos: _FROM(_word(data, pos), "big")

        def read_uint(data: bytes, pos: int) -> int:
            value = _FROM(_word(data, pos), "big")
            if value >> bits:
                raise AbiDecodeError(f"value at {pos} does not fit uint{bits}")
            return value
        return False, 32, read_uint
    raise ValueError(f"abi_reader does not handle type {type_str!r}")


def _read_bytes(data: bytes, pos: int) -> bytes:
    length = _FROM(_word(data, pos), "big")
    start = pos + 32
    padded = start + (length + 31) // 32 * 32
    if padded > len(data):
        raise AbiDecodeError(f"bytes of length {length} at {pos} run past the end ({len(data)} bytes)")
    if data[start + length:padded].strip(b"\x00"):
        raise AbiDecodeError(f"padding after bytes at {pos} is not zero")
    return data[start:start + length]


def _read_tuple(parts: Sequence[_Compiled], data: bytes, base: int) -> tuple[Any, ...]:
    out = []
    head = base
    end_of_offsets = base + 32 * len(parts)  # eth_abi's bound: one word per component
    for dynamic, size, read in parts:
        out.append(read(data, _offset(data, head, base, end_of_offsets)) if dynamic else read(data, head))
        head += size
    return tuple(out)


def _compile_tuple(parts: tuple[_Compiled, ...]) -> _Compiled:
    dynamic = any(p[0] for p in parts)
    size = 32 if dynamic else sum(p[1] for p in parts)
    return dynamic, size, lambda data, pos: _read_tuple(parts, data, pos)


def _compile_array(element: _Compiled) -> _Compiled:
    dynamic, size, read = element

    def read_array(data: bytes, pos: int) -> tuple[Any, ...]:
        count = _FROM(_word(data, pos), "big")
        base = pos + 32
        if count * size > len(data) - base:
            raise AbiDecodeError(f"array of {count} elements at {pos} does not fit in {len(data)} bytes")
        if dynamic:
            end_of_offsets = base + 32 * count
            return tuple(read(data, _offset(data, base + 32 * i, base, end_of_offsets)) for i in range(count))
        return tuple(read(data, base + size * i) for i in range(count))

    return True, 32, read_array


@functools.lru_cache(maxsize=None)
def _compile_list(types: tuple[str, ...]) -> tuple[_Compiled, ...]:
    return tuple(_compile(t) for t in types)


def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """Decode ``data`` as the ABI encoding of the tuple of ``types`` (like eth_abi.decode)."""
    return _read_tuple(_compile_list(tuple(types)), data, 0)
